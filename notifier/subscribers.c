/*  subscribers.c - chats that subscribed themselves with "/start SECRET" */
#include "subscribers.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define STATE_FILE_MAX (64 * 1024)  //  a bigger state file is not ours

struct _subscribers_t {
    char *path;                 //  state file, "" for none
    char *secret;               //  "" = nobody can subscribe
    int64_t chats [SUBSCRIBERS_MAX];    //  subscribed chats
    size_t chats_n;
    int64_t offset;             //  next getUpdates offset
};

subscribers_t *
subscribers_new (const char *path, const char *secret)
{
    subscribers_t *self = (subscribers_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->path = strdup (path);
    self->secret = strdup (secret);
    if (!self->path || !self->secret)
        subscribers_destroy (&self);
    return self;
}

void
subscribers_destroy (subscribers_t **self_p)
{
    assert (self_p);
    subscribers_t *self = *self_p;
    if (self) {
        free (self->path);
        free (self->secret);
        free (self);
        *self_p = NULL;
    }
}

//  A JSON number that is an exact integer, as Telegram's ids are
static bool
s_integer (const cJSON *item, int64_t *value)
{
    //  Range first: converting a huge double to an integer is undefined
    if (!cJSON_IsNumber (item) || item->valuedouble > 9007199254740992.0
    ||  item->valuedouble < -9007199254740992.0
    ||  item->valuedouble != (double) (int64_t) item->valuedouble)
        return false;
    *value = (int64_t) item->valuedouble;
    return true;
}

static bool
s_known (subscribers_t *self, int64_t chat, size_t *index)
{
    for (size_t i = 0; i < self->chats_n; i++)
        if (self->chats [i] == chat) {
            *index = i;
            return true;
        }
    return false;
}

int
subscribers_load (subscribers_t *self)
{
    self->chats_n = 0;
    self->offset = 0;
    if (!self->path [0])
        return 0;
    FILE *file = fopen (self->path, "r");
    if (!file)
        return errno == ENOENT ? 0 : -1;
    char *text = (char *) malloc (STATE_FILE_MAX + 1);
    size_t size = text ? fread (text, 1, STATE_FILE_MAX + 1, file) : 0;
    fclose (file);
    cJSON *root = text && size <= STATE_FILE_MAX
                ? cJSON_ParseWithLength (text, size) : NULL;
    free (text);
    if (!cJSON_IsObject (root)) {
        cJSON_Delete (root);
        return -1;
    }
    int64_t value;
    if (s_integer (cJSON_GetObjectItemCaseSensitive (root, "offset"), &value)
    &&  value >= 0)
        self->offset = value;
    const cJSON *chat;
    cJSON_ArrayForEach (chat, cJSON_GetObjectItemCaseSensitive (root, "chats"))
    {
        size_t index;
        if (s_integer (chat, &value) && value != 0 && !s_known (self, value,
                                                                &index)
        &&  self->chats_n < SUBSCRIBERS_MAX)
            self->chats [self->chats_n++] = value;
    }
    cJSON_Delete (root);
    return 0;
}

int
subscribers_save (subscribers_t *self)
{
    if (!self->path [0])
        return 0;
    char text [64 + SUBSCRIBERS_MAX * 24];
    int len = snprintf (text, sizeof (text), "{\"offset\":%lld,\"chats\":[",
                        (long long) self->offset);
    for (size_t i = 0; i < self->chats_n; i++)
        len += snprintf (text + len, sizeof (text) - (size_t) len, "%s%lld",
                         i ? "," : "", (long long) self->chats [i]);
    len += snprintf (text + len, sizeof (text) - (size_t) len, "]}\n");
    size_t tmp_size = strlen (self->path) + 8;
    char *tmp = (char *) malloc (tmp_size);
    if (!tmp)
        return -1;
    snprintf (tmp, tmp_size, "%s.tmp", self->path);
    FILE *file = fopen (tmp, "w");
    int rc = -1;
    if (file) {
        bool written = fwrite (text, 1, (size_t) len, file) == (size_t) len;
        written &= fflush (file) == 0 && fsync (fileno (file)) == 0;
        int saved = errno;
        written &= fclose (file) == 0;
        if (written && rename (tmp, self->path) == 0)
            rc = 0;
        else {
            saved = errno ? errno : saved;
            unlink (tmp);
            errno = saved;
        }
    }
    free (tmp);
    return rc;
}

size_t
subscribers_size (subscribers_t *self)
{
    return self->chats_n;
}

int64_t
subscribers_chat (subscribers_t *self, size_t index)
{
    assert (index < self->chats_n);
    return self->chats [index];
}

int64_t
subscribers_offset (subscribers_t *self)
{
    return self->offset;
}

void
subscribers_set_offset (subscribers_t *self, int64_t offset)
{
    self->offset = offset;
}

//  Compares without an early exit, so timing does not leak the secret
static bool
s_secret_matches (const char *secret, hc_str_t given)
{
    size_t len = strlen (secret);
    if (len == 0)
        return false;
    unsigned char diff = given.len != len;
    for (size_t i = 0; i < given.len; i++)
        diff |= (unsigned char) (given.ptr [i] ^ secret [i % len]);
    return diff == 0;
}

//  "/start" or "/start@SomeBot", then white space or the end; rest is the
//  argument, trimmed
static bool
s_command (hc_str_t text, const char *command, hc_str_t *argument)
{
    size_t n = strlen (command);
    if (text.len < n || memcmp (text.ptr, command, n) != 0)
        return false;
    size_t i = n;
    if (i < text.len && text.ptr [i] == '@')
        while (i < text.len && text.ptr [i] != ' ' && text.ptr [i] != '\n')
            i++;
    if (i < text.len && text.ptr [i] != ' ' && text.ptr [i] != '\n')
        return false;           //  "/starting" is another command
    while (i < text.len && (text.ptr [i] == ' ' || text.ptr [i] == '\n'))
        i++;
    size_t end = text.len;
    while (end > i && (text.ptr [end - 1] == ' ' || text.ptr [end - 1] == '\n'))
        end--;
    *argument = (hc_str_t){text.ptr + i, end - i};
    return true;
}

subscribers_result_t
subscribers_handle (subscribers_t *self, int64_t chat, hc_str_t text)
{
    hc_str_t argument;
    size_t index;
    if (s_command (text, "/stop", &argument)) {
        if (!s_known (self, chat, &index))
            return SUBSCRIBERS_IGNORED;
        self->chats [index] = self->chats [--self->chats_n];
        return SUBSCRIBERS_REMOVED;
    }
    if (!s_command (text, "/start", &argument))
        return SUBSCRIBERS_IGNORED;
    if (!self->secret [0] || !s_secret_matches (self->secret, argument))
        return SUBSCRIBERS_REFUSED;
    if (s_known (self, chat, &index))
        return SUBSCRIBERS_ALREADY;
    if (self->chats_n == SUBSCRIBERS_MAX)
        return SUBSCRIBERS_FULL;
    self->chats [self->chats_n++] = chat;
    return SUBSCRIBERS_ADDED;
}

//  ---------------------------------------------------------------------
//  Self test

void
subscribers_test (bool verbose)
{
    if (verbose)
        printf (" * subscribers: ");
    char dir [] = "/tmp/hc-subscribers-XXXXXX";
    assert (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof (path), "%s/chats.json", dir);

    subscribers_t *subs = subscribers_new (path, "s3cret");
    assert (subscribers_load (subs) == 0);      //  no file yet: empty
    assert (subscribers_size (subs) == 0 && subscribers_offset (subs) == 0);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("hello"))
            == SUBSCRIBERS_IGNORED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start"))
            == SUBSCRIBERS_REFUSED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start s3cre"))
            == SUBSCRIBERS_REFUSED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start s3cretX"))
            == SUBSCRIBERS_REFUSED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/starts3cret"))
            == SUBSCRIBERS_IGNORED);
    assert (subscribers_size (subs) == 0);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start  s3cret \n"))
            == SUBSCRIBERS_ADDED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start@HomeBot s3cret"))
            == SUBSCRIBERS_ALREADY);
    assert (subscribers_handle (subs, -100200, HC_STR_LIT ("/start s3cret"))
            == SUBSCRIBERS_ADDED);
    subscribers_set_offset (subs, 9000000001LL);
    assert (subscribers_save (subs) == 0);
    subscribers_destroy (&subs);

    //  Survives a restart
    subs = subscribers_new (path, "s3cret");
    assert (subscribers_load (subs) == 0);
    assert (subscribers_size (subs) == 2);
    assert (subscribers_chat (subs, 0) == 7);
    assert (subscribers_chat (subs, 1) == -100200);
    assert (subscribers_offset (subs) == 9000000001LL);
    assert (subscribers_handle (subs, 8, HC_STR_LIT ("/stop"))
            == SUBSCRIBERS_IGNORED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/stop"))
            == SUBSCRIBERS_REMOVED);
    assert (subscribers_size (subs) == 1);
    subscribers_destroy (&subs);

    //  No secret: nobody, not even with an empty argument
    subs = subscribers_new ("", "");
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start"))
            == SUBSCRIBERS_REFUSED);
    assert (subscribers_handle (subs, 7, HC_STR_LIT ("/start "))
            == SUBSCRIBERS_REFUSED);
    assert (subscribers_save (subs) == 0 && subscribers_size (subs) == 0);
    subscribers_destroy (&subs);

    //  A damaged state file is reported, and the state starts empty
    FILE *file = fopen (path, "w");
    fprintf (file, "{\"chats\":[1,2");
    fclose (file);
    subs = subscribers_new (path, "s3cret");
    assert (subscribers_load (subs) == -1 && subscribers_size (subs) == 0);
    file = fopen (path, "w");
    fprintf (file, "{\"offset\":-5,\"chats\":[1.5,\"2\",3,3,0]}");
    fclose (file);
    assert (subscribers_load (subs) == 0);
    assert (subscribers_size (subs) == 1 && subscribers_chat (subs, 0) == 3);
    assert (subscribers_offset (subs) == 0);
    subscribers_destroy (&subs);

    unlink (path);
    rmdir (dir);
    if (verbose)
        printf ("OK\n");
}
