/*  test_sink.c - a rooms_sink_t that records what the logic does */
#include "test_sink.h"
#include "gateway/gw_json.h"

#include <inttypes.h>
#include <stdarg.h>

static void
s_deliver (void *ctx, const uint64_t *conns, size_t conns_n,
           const hc_field_t *fields, size_t fields_n)
{
    test_sink_t *self = (test_sink_t *) ctx;
    hc_buf_t json;
    hc_buf_init (&json, 0);
    gw_json_render (&json, fields, fields_n);
    for (size_t i = 0; i < conns_n; i++) {
        char *line = zsys_sprintf ("%" PRIu64 " %s", conns [i],
                                   hc_buf_cstr (&json));
        if (self->verbose)
            printf ("\n    -> %s", line);
        zlistx_add_end (self->frames, line);
    }
    hc_buf_free (&json);
}

static void
s_kick (void *ctx, uint64_t conn, uint16_t code, const char *reason)
{
    test_sink_t *self = (test_sink_t *) ctx;
    char *line = zsys_sprintf ("%" PRIu64 " %u %s", conn, code, reason);
    if (self->verbose)
        printf ("\n    kick %s", line);
    zlistx_add_end (self->kicks, line);
}

static void
s_log_hook (void *ctx, const msg_log_t *record)
{
    test_sink_t *self = (test_sink_t *) ctx;
    hc_buf_t line;
    hc_buf_init (&line, 0);
    hc_buf_append_str (&line, record->event);
    for (size_t i = 0; i < record->fields_n; i++) {
        hc_buf_append_char (&line, ' ');
        hc_buf_append_str (&line, record->fields [i].key);
        hc_buf_append_char (&line, '=');
        if (record->fields [i].type == HC_V_INT)
            hc_buf_append_int (&line, record->fields [i].num);
        else
            hc_buf_append_str (&line, record->fields [i].str);
    }
    if (self->verbose)
        printf ("\n    log %s", hc_buf_cstr (&line));
    zlistx_add_end (self->logs, strdup (hc_buf_cstr (&line)));
    hc_buf_free (&line);
}

static void
s_free_str (void **item)
{
    free (*item);
    *item = NULL;
}

test_sink_t *
test_sink_new (bool verbose)
{
    test_sink_t *self = (test_sink_t *) zmalloc (sizeof (test_sink_t));
    self->verbose = verbose;
    self->frames = zlistx_new ();
    self->kicks = zlistx_new ();
    self->logs = zlistx_new ();
    zlistx_set_destructor (self->frames, s_free_str);
    zlistx_set_destructor (self->kicks, s_free_str);
    zlistx_set_destructor (self->logs, s_free_str);
    self->sink.ctx = self;
    self->sink.deliver = s_deliver;
    self->sink.kick = s_kick;
    self->sink.log = hc_log_new (NULL, "test", HC_LOG_DEBUG);
    hc_log_set_hook (self->sink.log, s_log_hook, self);
    return self;
}

void
test_sink_destroy (test_sink_t **self_p)
{
    test_sink_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->frames);
    zlistx_destroy (&self->kicks);
    zlistx_destroy (&self->logs);
    hc_log_destroy (&self->sink.log);
    free (self);
    *self_p = NULL;
}

static void
s_expect_line (zlistx_t *list, const char *expected, const char *what)
{
    char *line = (char *) zlistx_first (list);
    if (!line || strcmp (line, expected) != 0) {
        fprintf (stderr, "\nexpected %s: %s\n     got: %s\n", what, expected,
                 line ? line : "(nothing)");
        abort ();
    }
    zlistx_delete (list, zlistx_cursor (list));
}

void
test_sink_expect (test_sink_t *self, uint64_t conn, const char *json)
{
    char *expected = zsys_sprintf ("%" PRIu64 " %s", conn, json);
    s_expect_line (self->frames, expected, "frame");
    free (expected);
}

void
test_sink_expect_kick (test_sink_t *self, uint64_t conn, uint16_t code,
                       const char *reason)
{
    char *expected = zsys_sprintf ("%" PRIu64 " %u %s", conn, code, reason);
    s_expect_line (self->kicks, expected, "kick");
    free (expected);
}

void
test_sink_expect_nothing (test_sink_t *self)
{
    char *line = (char *) zlistx_first (self->frames);
    if (!line)
        line = (char *) zlistx_first (self->kicks);
    if (line) {
        fprintf (stderr, "\nexpected nothing, got: %s\n", line);
        abort ();
    }
}

size_t
test_sink_logged (test_sink_t *self, const char *fragment, ...)
{
    size_t count = 0;
    for (char *line = (char *) zlistx_first (self->logs); line;
         line = (char *) zlistx_next (self->logs)) {
        bool all = true;
        va_list args;
        va_start (args, fragment);
        for (const char *f = fragment; f; f = va_arg (args, const char *))
            if (!strstr (line, f))
                all = false;
        va_end (args);
        if (all)
            count++;
    }
    return count;
}

void
test_sink_clear_logs (test_sink_t *self)
{
    zlistx_purge (self->logs);
}
