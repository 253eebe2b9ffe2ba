/*  replay_trace.c - reads gateway traces and compares frames */
#include "replay_trace.h"
#include "common/utf8.h"
#include "gateway/gw_json.h"

#include <czmq.h>
#include <time.h>

#define MAX_LINE (16 * 1024 * 1024)

static void
s_record_free (rt_record_t *record)
{
    free (record->path);
    free (record->frame);
    free (record->reason);
}

void
rt_trace_free (rt_trace_t *self)
{
    for (size_t i = 0; i < self->size; i++)
        s_record_free (&self->items [i]);
    free (self->items);
    memset (self, 0, sizeof (*self));
}

static const char *
s_string (const cJSON *object, const char *key)
{
    const cJSON *item = gw_json_member (object, key);
    return cJSON_IsString (item) ? item->valuestring : NULL;
}

static bool
s_flag (const cJSON *object, const char *key)
{
    return cJSON_IsTrue (gw_json_member (object, key));
}

//  2026-11-22T00:01:12.939123Z -> microseconds since the epoch
static int
s_time (const char *text, int64_t *us)
{
    struct tm tm;
    memset (&tm, 0, sizeof (tm));
    char *rest = strptime (text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    int64_t fraction = 0, scale = 1000000;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (scale > 1) {
                scale /= 10;
                fraction += (*rest - '0') * scale;
            }
    if (*rest != 'Z')
        return -1;
    *us = (int64_t) timegm (&tm) * 1000000 + fraction;
    return 0;
}

//  The frame as the client sent or got it: JSON as written, a string's
//  text, or base64-decoded bytes
static int
s_frame (rt_record_t *record, const cJSON *root, const char *line,
         size_t len)
{
    const cJSON *frame = gw_json_member (root, "frame");
    record->binary = s_flag (root, "binary");
    const cJSON *json = gw_json_member (root, "json");
    record->json = !cJSON_IsFalse (json);
    if (record->json) {
        hc_str_t span;
        if (!frame || gw_json_span (line, len, "frame", &span))
            return -1;
        record->frame = strndup (span.ptr, span.len);
        record->frame_len = span.len;
        return 0;
    }
    if (!cJSON_IsString (frame))
        return -1;
    const char *encoding = s_string (root, "encoding");
    if (encoding && streq (encoding, "base64")) {
        zarmour_t *armour = zarmour_new ();
        zchunk_t *bytes = zarmour_decode (armour, frame->valuestring);
        zarmour_destroy (&armour);
        if (!bytes)
            return -1;
        //  zarmour adds a terminating NUL to what it decodes
        record->frame_len = zchunk_size (bytes) ? zchunk_size (bytes) - 1 : 0;
        record->frame = (char *) malloc (record->frame_len + 1);
        memcpy (record->frame, zchunk_data (bytes), record->frame_len);
        record->frame [record->frame_len] = 0;
        zchunk_destroy (&bytes);
        return 0;
    }
    record->frame = strdup (frame->valuestring);
    record->frame_len = strlen (frame->valuestring);
    return 0;
}

static int
s_parse (rt_record_t *record, const char *line, size_t len)
{
    cJSON *root = cJSON_ParseWithLength (line, len);
    int rc = -1;
    const char *dir = s_string (root, "dir");
    const char *conn = s_string (root, "conn");
    const char *time = s_string (root, "time");
    const char *dialect = s_string (root, "dialect");
    if (!cJSON_IsObject (root) || !dir || !conn || !time || !dialect
    ||  strlen (conn) >= sizeof (record->conn)
    ||  s_time (time, &record->time_us))
        goto done;
    snprintf (record->conn, sizeof (record->conn), "%s", conn);
    record->dialect = streq (dialect, "signal") ? HC_DIALECT_SIGNAL
                                                : HC_DIALECT_P2P;
    if (streq (dir, "open")) {
        record->dir = RT_OPEN;
        const char *path = s_string (root, "path");
        record->path = strdup (path ? path : "/");
        rc = 0;
    }
    else
    if (streq (dir, "in") || streq (dir, "out")) {
        record->dir = streq (dir, "in") ? RT_IN : RT_OUT;
        const cJSON *oversize = gw_json_member (root, "oversize");
        if (record->dir == RT_IN && cJSON_IsNumber (oversize)
        &&  oversize->valuedouble > 0 && oversize->valuedouble < 1e9) {
            record->oversize = (size_t) oversize->valuedouble;
            rc = 0;
        }
        else
            rc = s_frame (record, root, line, len);
    }
    else
    if (streq (dir, "close")) {
        record->dir = RT_CLOSE;
        const char *by = s_string (root, "by");
        const cJSON *code = gw_json_member (root, "code");
        const char *reason = s_string (root, "reason");
        record->by_client = by && streq (by, "client");
        record->code = cJSON_IsNumber (code) ? code->valueint : 1006;
        record->reason = reason ? strdup (reason) : NULL;
        rc = by ? 0 : -1;
    }
done:
    cJSON_Delete (root);
    return rc;
}

int
rt_trace_load (rt_trace_t *self, const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (err, err_size, "%s: %s", path, strerror (errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t number = 0;
    int rc = 0;
    while (rc == 0 && (len = getline (&line, &cap, file)) != -1) {
        number++;
        while (len && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (len > MAX_LINE || self->size == SIZE_MAX / sizeof (rt_record_t)) {
            rc = -1;
            break;
        }
        if (self->size == self->cap) {
            self->cap = self->cap ? self->cap * 2 : 64;
            self->items = (rt_record_t *) realloc (
                self->items, self->cap * sizeof (rt_record_t));
        }
        rt_record_t *record = &self->items [self->size];
        memset (record, 0, sizeof (*record));
        record->file = path;
        record->line = number;
        if (s_parse (record, line, (size_t) len)) {
            s_record_free (record);
            rc = -1;
        }
        else
            self->size++;
    }
    if (rc)
        snprintf (err, err_size, "%s line %zu: not a trace record", path,
                  number);
    free (line);
    fclose (file);
    return rc;
}

//  Stable: a merge sort on time (qsort is not stable)
static void
s_merge_sort (rt_record_t *items, rt_record_t *scratch, size_t n)
{
    if (n < 2)
        return;
    size_t half = n / 2;
    s_merge_sort (items, scratch, half);
    s_merge_sort (items + half, scratch, n - half);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n)
        scratch [k++] = items [j].time_us < items [i].time_us ? items [j++]
                                                              : items [i++];
    while (i < half)
        scratch [k++] = items [i++];
    while (j < n)
        scratch [k++] = items [j++];
    memcpy (items, scratch, n * sizeof (rt_record_t));
}

void
rt_trace_sort (rt_trace_t *self)
{
    if (self->size < 2)
        return;
    rt_record_t *scratch = (rt_record_t *) malloc (self->size
                                                   * sizeof (rt_record_t));
    s_merge_sort (self->items, scratch, self->size);
    free (scratch);
}

//  ---------------------------------------------------------------------
//  Comparison

static void
s_print_value (hc_buf_t *out, const cJSON *value)
{
    char *text = value ? cJSON_PrintUnformatted (value) : NULL;
    if (text && strlen (text) > 120)
        strcpy (text + 117, "...");
    hc_buf_append_cstr (out, text ? text : "(nothing)");
    free (text);
}

//  One difference: "    .path: expected X, received Y"
static void
s_note (hc_buf_t *diff, const char *path, const cJSON *expected,
        const cJSON *got)
{
    hc_buf_append_cstr (diff, "    ");
    hc_buf_append_cstr (diff, *path ? path : "(frame)");
    hc_buf_append_cstr (diff, ": expected ");
    s_print_value (diff, expected);
    hc_buf_append_cstr (diff, ", received ");
    s_print_value (diff, got);
    hc_buf_append_char (diff, '\n');
}

static bool
s_volatile (const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (streq (key, keys [i]))
            return true;
    return false;
}

static int
s_diff (const cJSON *expected, const cJSON *got, const char *path,
        const char *const *keys, size_t keys_n, hc_buf_t *diff)
{
    char sub [512];
    if (cJSON_IsObject (expected) && cJSON_IsObject (got)) {
        int n = 0;
        for (const cJSON *e = expected->child; e; e = e->next) {
            if (gw_json_member (expected, e->string) != e)
                continue;       //  a duplicate key: the last one counts
            snprintf (sub, sizeof (sub), "%s.%s", path, e->string);
            const cJSON *g = gw_json_member (got, e->string);
            if (!g) {
                s_note (diff, sub, e, NULL);
                n++;
            }
            else
            if (!s_volatile (e->string, keys, keys_n))
                n += s_diff (e, g, sub, keys, keys_n, diff);
        }
        for (const cJSON *g = got->child; g; g = g->next)
            if (!gw_json_member (expected, g->string)) {
                snprintf (sub, sizeof (sub), "%s.%s", path, g->string);
                s_note (diff, sub, NULL, g);
                n++;
            }
        return n;
    }
    if (cJSON_IsArray (expected) && cJSON_IsArray (got)) {
        int size = cJSON_GetArraySize (expected);
        if (size != cJSON_GetArraySize (got)) {
            s_note (diff, path, expected, got);
            return 1;
        }
        int n = 0;
        for (int i = 0; i < size; i++) {
            snprintf (sub, sizeof (sub), "%s[%d]", path, i);
            n += s_diff (cJSON_GetArrayItem (expected, i),
                         cJSON_GetArrayItem (got, i), sub, keys, keys_n,
                         diff);
        }
        return n;
    }
    if (!cJSON_Compare (expected, got, true)) {
        s_note (diff, path, expected, got);
        return 1;
    }
    return 0;
}

int
rt_compare (const rt_record_t *expected, const char *got, size_t got_len,
            bool got_binary, const char *const *volatile_keys,
            size_t volatile_n, hc_buf_t *diff)
{
    int n = 0;
    if (expected->binary != got_binary) {
        hc_buf_append_cstr (diff, expected->binary
                            ? "    a binary frame was expected, text came\n"
                            : "    a text frame was expected, binary came\n");
        n++;
    }
    if (!expected->json) {
        if (got_len != expected->frame_len
        ||  memcmp (got, expected->frame, got_len) != 0) {
            hc_buf_append_cstr (diff, "    (frame): expected text ");
            hc_buf_append_json_str (diff, (hc_str_t){expected->frame,
                                                     expected->frame_len});
            hc_buf_append_cstr (diff, ", received ");
            if (utf8_valid (got, got_len))
                hc_buf_append_json_str (diff, (hc_str_t){got, got_len});
            else
                hc_buf_append_cstr (diff, "bytes that are not UTF-8");
            hc_buf_append_char (diff, '\n');
            n++;
        }
        return n;
    }
    cJSON *want = cJSON_ParseWithLength (expected->frame, expected->frame_len);
    cJSON *have = cJSON_ParseWithLength (got, got_len);
    if (!have) {
        hc_buf_append_cstr (diff, "    (frame): received text that is not "
                                  "JSON\n");
        n++;
    }
    else
        n += s_diff (want, have, "", volatile_keys, volatile_n, diff);
    cJSON_Delete (want);
    cJSON_Delete (have);
    return n;
}

//  ---------------------------------------------------------------------
//  Self test

void
rt_trace_test (bool verbose)
{
    if (verbose)
        printf (" * replay_trace: ");
    char path1 [] = "/tmp/hc-rt-test-XXXXXX", path2 [] = "/tmp/hc-rt-2-XXXXXX";
    int fd1 = mkstemp (path1), fd2 = mkstemp (path2);
    assert (fd1 >= 0 && fd2 >= 0);
    FILE *f1 = fdopen (fd1, "w"), *f2 = fdopen (fd2, "w");
    const char *prefix = "\"gateway\":\"0000000a\","
                         "\"conn\":\"0000000a00000001\","
                         "\"dialect\":\"signal\"";
    fprintf (f1, "{\"time\":\"2026-11-22T00:00:00.000001Z\",%s,"
                 "\"dir\":\"open\",\"path\":\"/signal\",\"peer\":\"x\"}\n",
             prefix);
    fprintf (f1, "{\"time\":\"2026-11-22T00:00:00.000003Z\",%s,\"dir\":\"in\","
                 "\"frame\":{\"type\":\"join\",\"room\":\"w\"}}\n", prefix);
    fprintf (f1, "\n{\"time\":\"2026-11-22T00:00:00.000005Z\",%s,\"dir\":"
                 "\"out\",\"frame\":\"PONG\",\"json\":false}\n", prefix);
    fprintf (f1, "{\"time\":\"2026-11-22T00:00:00.000005Z\",%s,\"dir\":\"in\","
                 "\"frame\":\"/3s=\",\"json\":false,\"encoding\":\"base64\","
                 "\"binary\":true}\n", prefix);
    fprintf (f1, "{\"time\":\"2026-11-22T00:00:01Z\",%s,\"dir\":\"close\","
                 "\"by\":\"server\",\"code\":1009,\"reason\":\"big\"}\n",
             prefix);
    fprintf (f2, "{\"time\":\"2026-11-22T00:00:00.000004Z\",\"gateway\":\"b\","
                 "\"conn\":\"0000000b00000001\",\"dialect\":\"p2p\",\"dir\":"
                 "\"in\",\"oversize\":70000}\n");
    fclose (f1);
    fclose (f2);
    rt_trace_t trace = {NULL, 0, 0};
    char err [256];
    assert (rt_trace_load (&trace, path1, err, sizeof (err)) == 0);
    assert (rt_trace_load (&trace, path2, err, sizeof (err)) == 0);
    assert (trace.size == 6);
    rt_trace_sort (&trace);
    assert (trace.items [0].dir == RT_OPEN
            && streq (trace.items [0].path, "/signal"));
    assert (trace.items [1].dir == RT_IN && trace.items [1].json);
    assert (streq (trace.items [1].frame,
                   "{\"type\":\"join\",\"room\":\"w\"}"));
    assert (trace.items [2].oversize == 70000
            && trace.items [2].dialect == HC_DIALECT_P2P);
    //  Equal times keep the file's order
    assert (trace.items [3].dir == RT_OUT && !trace.items [3].json);
    assert (streq (trace.items [3].frame, "PONG"));
    assert (trace.items [4].binary && trace.items [4].frame_len == 2
            && (unsigned char) trace.items [4].frame [0] == 0xff);
    assert (trace.items [5].dir == RT_CLOSE && !trace.items [5].by_client
            && trace.items [5].code == 1009
            && streq (trace.items [5].reason, "big"));
    assert (trace.items [5].line == 6);

    //  Comparison: as parsed JSON, volatile values ignored
    rt_record_t want = {.dir = RT_OUT, .json = true};
    char frame [] = "{\"type\":\"call\",\"addedAt\":1,\"n\":[1,2]}";
    want.frame = frame;
    want.frame_len = strlen (want.frame);
    const char *keys [] = {"addedAt"};
    hc_buf_t diff;
    hc_buf_init (&diff, 0);
    const char *same = "{\"n\":[1,2],\"addedAt\":99,\"type\":\"call\"}";
    assert (rt_compare (&want, same, strlen (same), false, keys, 1, &diff)
            == 0);
    assert (rt_compare (&want, same, strlen (same), false, keys, 0, &diff)
            == 1);
    assert (strstr (hc_buf_cstr (&diff), ".addedAt"));
    hc_buf_reset (&diff);
    const char *other = "{\"type\":\"busy\",\"n\":[1],\"extra\":true}";
    assert (rt_compare (&want, other, strlen (other), false, keys, 1, &diff)
            == 4);
    assert (strstr (hc_buf_cstr (&diff), ".type: expected \"call\", "
                                         "received \"busy\""));
    assert (strstr (hc_buf_cstr (&diff), ".addedAt: expected 1, received "
                                         "(nothing)"));
    assert (strstr (hc_buf_cstr (&diff), ".n: expected [1,2], received [1]"));
    assert (strstr (hc_buf_cstr (&diff), ".extra: expected (nothing), "
                                         "received true"));
    hc_buf_reset (&diff);
    assert (rt_compare (&trace.items [3], "PONG", 4, false, keys, 1, &diff)
            == 0);
    assert (rt_compare (&trace.items [3], "PING", 4, true, keys, 1, &diff)
            == 2);
    hc_buf_free (&diff);

    //  A broken line is named
    f1 = fopen (path1, "a");
    fprintf (f1, "{\"time\":\"yesterday\"}\n");
    fclose (f1);
    rt_trace_t broken = {NULL, 0, 0};
    assert (rt_trace_load (&broken, path1, err, sizeof (err)) == -1);
    assert (strstr (err, "line 7"));
    rt_trace_free (&broken);
    rt_trace_free (&trace);
    unlink (path1);
    unlink (path2);
    if (verbose)
        printf ("OK\n");
}
