/*  log_line.c - one log record as one line of text or JSON */
#include "log_line.h"
#include "../common/utf8.h"

#include <assert.h>
#include <stdio.h>
#include <time.h>

//  2026-11-21T23:45:20.123Z; the date and time of day are formatted once
//  a second (a busy server writes thousands of lines in one)
static void
s_append_time (hc_buf_t *out, int64_t time_us)
{
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char cached [32];
    time_t secs = (time_t) (time_us / 1000000);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r (&secs, &tm);
        if (!strftime (cached, sizeof (cached), "%Y-%m-%dT%H:%M:%S", &tm))
            cached [0] = 0;
        cached_secs = secs;
    }
    int millis = (int) ((time_us / 1000) % 1000);
    char tail [6] = {'.', (char) ('0' + millis / 100),
                     (char) ('0' + millis / 10 % 10),
                     (char) ('0' + millis % 10), 'Z', 0};
    hc_buf_append_cstr (out, cached);
    hc_buf_append_cstr (out, tail);
}

//  A JSON string; bytes that are not UTF-8 become \u00XX so the line stays
//  valid (their meaning is lost, their presence is not)
static void
s_append_json_safe (hc_buf_t *out, hc_str_t s)
{
    if (utf8_valid (s.ptr, s.len)) {
        hc_buf_append_json_str (out, s);
        return;
    }
    hc_buf_append_char (out, '"');
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.ptr [i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
            hc_buf_append_char (out, (char) c);
        else {
            char esc [8];
            snprintf (esc, sizeof (esc), "\\u%04x", c);
            hc_buf_append_cstr (out, esc);
        }
    }
    hc_buf_append_char (out, '"');
}

//  Printed bare when it cannot be mistaken for anything else
static bool
s_plain (hc_str_t s)
{
    if (s.len == 0 || !utf8_valid (s.ptr, s.len))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.ptr [i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '=')
            return false;
    }
    return true;
}

void
log_line_format (hc_buf_t *out, const msg_log_t *record, bool json)
{
    const char *level = hc_log_level_name (record->level);
    if (json) {
        hc_buf_append_cstr (out, "{\"time\":\"");
        s_append_time (out, record->time_us);
        hc_buf_append_cstr (out, "\",\"level\":\"");
        hc_buf_append_cstr (out, level);
        hc_buf_append_cstr (out, "\",\"actor\":");
        s_append_json_safe (out, record->actor);
        hc_buf_append_cstr (out, ",\"event\":");
        s_append_json_safe (out, record->event);
        for (size_t i = 0; i < record->fields_n; i++) {
            const hc_field_t *f = &record->fields [i];
            hc_buf_append_char (out, ',');
            s_append_json_safe (out, f->key);
            hc_buf_append_char (out, ':');
            if (f->type == HC_V_INT)
                hc_buf_append_int (out, f->num);
            else
                s_append_json_safe (out, f->str);
        }
        hc_buf_append_cstr (out, "}\n");
        return;
    }
    s_append_time (out, record->time_us);
    char upper [8];
    snprintf (upper, sizeof (upper), " %-5s ", level);
    for (char *p = upper; *p; p++)
        *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    hc_buf_append_cstr (out, upper);
    hc_buf_append_str (out, record->actor);
    hc_buf_append_char (out, ' ');
    hc_buf_append_str (out, record->event);
    for (size_t i = 0; i < record->fields_n; i++) {
        const hc_field_t *f = &record->fields [i];
        hc_buf_append_char (out, ' ');
        hc_buf_append_str (out, f->key);
        hc_buf_append_char (out, '=');
        if (f->type == HC_V_INT)
            hc_buf_append_int (out, f->num);
        else
        if (s_plain (f->str))
            hc_buf_append_str (out, f->str);
        else
            s_append_json_safe (out, f->str);
    }
    hc_buf_append_char (out, '\n');
}

void
log_line_test (bool verbose)
{
    if (verbose)
        printf (" * log_line: ");
    hc_field_t fields [] = {
        hc_field_str ("room", HC_STR_LIT ("w1")),
        hc_field_int ("size", 5),
        hc_field_str ("user", HC_STR_LIT ("evil\nINFO forged=1")),
        hc_field_str ("bad", HC_STR_LIT ("\xff")),
        hc_field_str ("empty", HC_STR_LIT ("")),
    };
    //  2026-11-21T23:45:20.123Z
    msg_log_t record = {HC_LOG_WARN, 1795304720123456LL, HC_STR_LIT ("rooms"),
                        HC_STR_LIT ("relay.dropped"), fields, 5};
    hc_buf_t out;
    hc_buf_init (&out, 0);
    log_line_format (&out, &record, false);
    assert (strcmp (hc_buf_cstr (&out),
                    "2026-11-21T23:45:20.123Z WARN  rooms relay.dropped room=w1 "
                    "size=5 user=\"evil\\nINFO forged=1\" bad=\"\\u00ff\" "
                    "empty=\"\"\n") == 0);
    hc_buf_reset (&out);
    log_line_format (&out, &record, true);
    assert (strcmp (hc_buf_cstr (&out),
                    "{\"time\":\"2026-11-21T23:45:20.123Z\",\"level\":\"warn\","
                    "\"actor\":\"rooms\",\"event\":\"relay.dropped\","
                    "\"room\":\"w1\",\"size\":5,\"user\":\"evil\\nINFO "
                    "forged=1\",\"bad\":\"\\u00ff\",\"empty\":\"\"}\n") == 0);
    hc_buf_free (&out);
    if (verbose)
        printf ("OK\n");
}
