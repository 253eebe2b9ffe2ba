/*  origins.c - a list of web origins, for ALLOWED_ORIGINS
*/
#include "origins.h"
#include "hc_types.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

//  scheme://host[:port], or null: what a browser puts in Origin
static bool
s_origin_valid (const char *entry, size_t len)
{
    if (len == 4 && strncasecmp (entry, "null", 4) == 0)
        return true;
    size_t i = 0;
    if (!isalpha ((unsigned char) entry [0]))
        return false;
    while (i < len && (isalnum ((unsigned char) entry [i])
                       || strchr ("+.-", entry [i])))
        i++;
    if (len - i < 4 || memcmp (entry + i, "://", 3) != 0)
        return false;
    for (i += 3; i < len; i++)
        if (!isgraph ((unsigned char) entry [i]) || strchr ("/?#@", entry [i]))
            return false;       //  a path, query or user is no origin
    return true;
}

int
hc_origins_parse (hc_origins_t *self, const char *text, char *bad,
                  size_t bad_size)
{
    memset (self, 0, sizeof (*self));
    size_t used = 0;
    const char *p = text;
    hc_str_t entry;
    while (hc_list_next (&p, &entry)) {
        size_t len = entry.len;
        if (!s_origin_valid (entry.ptr, len) || self->size == HC_ORIGINS_MAX
        ||  used + len + 1 > sizeof (self->text)) {
            snprintf (bad, bad_size, "%.*s", (int) len, entry.ptr);
            return -1;
        }
        memcpy (self->text + used, entry.ptr, len);
        self->start [self->size] = (uint16_t) used;
        self->len [self->size] = (uint16_t) len;
        self->size++;
        used += len + 1;        //  text stays 0-terminated per entry
    }
    return 0;
}

bool
hc_origins_allow (const hc_origins_t *self, const char *origin)
{
    if (self->size == 0 || origin == NULL)
        return true;
    size_t len = strlen (origin);
    for (size_t i = 0; i < self->size; i++)
        if (self->len [i] == len
        &&  strncasecmp (self->text + self->start [i], origin, len) == 0)
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  Self test

void
hc_origins_test (bool verbose)
{
    if (verbose)
        printf (" * origins: ");
    hc_origins_t list;
    char bad [64];
    //  Empty: everyone
    assert (hc_origins_parse (&list, "", bad, sizeof (bad)) == 0);
    assert (list.size == 0);
    assert (hc_origins_allow (&list, "https://evil.example"));
    assert (hc_origins_parse (&list, " https://call.example.com , "
                              "http://127.0.0.1:8080,null,capacitor://localhost",
                              bad, sizeof (bad)) == 0);
    assert (list.size == 4);
    assert (hc_origins_allow (&list, "https://call.example.com"));
    assert (hc_origins_allow (&list, "HTTPS://Call.Example.COM"));
    assert (hc_origins_allow (&list, "http://127.0.0.1:8080"));
    assert (hc_origins_allow (&list, "capacitor://localhost"));
    assert (hc_origins_allow (&list, "null"));
    //  No Origin header: a native app, let in
    assert (hc_origins_allow (&list, NULL));
    //  Anything but the whole origin is refused
    assert (!hc_origins_allow (&list, "https://call.example.com:443"));
    assert (!hc_origins_allow (&list, "https://call.example.co"));
    assert (!hc_origins_allow (&list, "https://call.example.com.evil"));
    assert (!hc_origins_allow (&list, "http://call.example.com"));
    assert (!hc_origins_allow (&list, "http://127.0.0.1"));
    assert (!hc_origins_allow (&list, ""));
    //  A copy works: offsets, no pointers
    hc_origins_t copy = list;
    memset (&list, 0xff, sizeof (list));
    assert (hc_origins_allow (&copy, "http://127.0.0.1:8080"));
    //  Not origins: the bad entry is named
    assert (hc_origins_parse (&list, "https://ok.example,https://x.example/",
                              bad, sizeof (bad)) == -1);
    assert (strcmp (bad, "https://x.example/") == 0);
    assert (hc_origins_parse (&list, "call.example.com", bad,
                              sizeof (bad)) == -1);
    assert (hc_origins_parse (&list, "https://", bad, sizeof (bad)) == -1);
    assert (hc_origins_parse (&list, "https://a b", bad, sizeof (bad)) == -1);
    assert (hc_origins_parse (&list, "https://u@host", bad,
                              sizeof (bad)) == -1);
    assert (hc_origins_parse (&list, "*", bad, sizeof (bad)) == -1);
    assert (strcmp (bad, "*") == 0);
    if (verbose)
        printf ("OK\n");
}
