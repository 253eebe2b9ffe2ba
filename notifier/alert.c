/*  alert.c - one alert: what it says, the key that merges its repeats,
    and its text as Telegram HTML */
#include "alert.h"
#include "../common/utf8.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT_MAX 3000        //  bytes of fields kept per alert
#define HEAD_VALUE_MAX 128      //  bytes of host, actor or event shown
#define KEY_MAX 512             //  bytes of a merge key

hc_str_t
alert_field (const msg_log_t *record, const char *key)
{
    for (size_t i = 0; i < record->fields_n; i++)
        if (record->fields [i].type == HC_V_STR
        &&  hc_str_eq_cstr (record->fields [i].key, key))
            return record->fields [i].str;
    return HC_STR_NULL;
}

//  ---------------------------------------------------------------------
//  Which records are alerts

//  Overload, dropped messages and broken links between actors
static const char *const s_warn_events [] = {
    "deliver.dropped", "conn.lagging", "conn.refused", "signal.busy",
    "bus.malformed", "bus.unexpected", "link.refused", NULL};

//  Clients misbehaving: one is noise, a burst is worth a look
static const char *const s_client_events [] = {
    "client.error", "signal.invalid", "conn.flood", NULL};

alert_class_t
alert_classify (const msg_log_t *record, hc_log_level_t *severity)
{
    //  Our own complaints about Telegram would feed themselves
    if (hc_str_eq_cstr (record->actor, "notifier")
    &&  hc_str_starts (record->event, "telegram."))
        return ALERT_NONE;
    *severity = record->level;
    if (record->level == HC_LOG_ERROR)
        return ALERT_ALONE;
    *severity = HC_LOG_WARN;
    if (hc_str_in (record->event, s_warn_events)
    ||  (hc_str_eq_cstr (record->event, "relay.dropped")
         && hc_str_eq_cstr (alert_field (record, "reason"), "total_queue_bytes"))
    ||  (hc_str_eq_cstr (record->event, "signal.refused")
         && hc_str_eq_cstr (alert_field (record, "code"), "too_many_rooms")))
        return ALERT_ALONE;
    if (hc_str_in (record->event, s_client_events))
        return ALERT_CLIENT_ERROR;
    *severity = HC_LOG_INFO;
    if (hc_str_eq_cstr (record->actor, "server")
    &&  (hc_str_eq_cstr (record->event, "server.started")
         || hc_str_eq_cstr (record->event, "server.stopping")))
        return ALERT_ALONE;
    return ALERT_NONE;
}

//  ---------------------------------------------------------------------
//  Alerts and items

//  ---------------------------------------------------------------------
//  An alert, shared by the chats it is queued for

void
alert_release (alert_t **alert_p)
{
    alert_t *alert = *alert_p;
    if (alert && --alert->refs == 0) {
        free (alert->key);
        free (alert->actor);
        free (alert->event);
        free (alert->context);
        free (alert);
    }
    *alert_p = NULL;
}

//  level|actor|event|kind: what makes two alerts the same problem
static void
s_append_key (hc_buf_t *key, const msg_log_t *record)
{
    hc_buf_append_cstr (key, hc_log_level_name (record->level));
    hc_buf_append_char (key, '|');
    hc_buf_append_str (key, record->actor);
    hc_buf_append_char (key, '|');
    hc_buf_append_str (key, record->event);
    static const char *const kinds [] = {"why", "reason", "code", "verb"};
    for (size_t i = 0; i < 4; i++) {
        hc_str_t value = alert_field (record, kinds [i]);
        if (hc_str_present (value)) {
            hc_buf_append_char (key, '|');
            hc_buf_append_str (key, value);
        }
    }
}

alert_t *
alert_new (const msg_log_t *record, hc_log_level_t severity)
{
    alert_t *alert = (alert_t *) calloc (1, sizeof (alert_t));
    if (!alert)
        return NULL;
    alert->refs = 1;
    alert->level = severity;
    hc_buf_t buf;
    hc_buf_init (&buf, 0);
    s_append_key (&buf, record);
    if (buf.len > KEY_MAX)
        buf.len = KEY_MAX;
    alert->key = buf.failed ? NULL : strndup (buf.data, buf.len);
    hc_buf_reset (&buf);
    for (size_t i = 0; i < record->fields_n && buf.len < CONTEXT_MAX; i++) {
        const hc_field_t *f = &record->fields [i];
        hc_buf_append_str (&buf, f->key);
        hc_buf_append_cstr (&buf, ": ");
        if (f->type == HC_V_INT)
            hc_buf_append_int (&buf, f->num);
        else
            hc_buf_append_str (&buf, f->str);
        hc_buf_append_char (&buf, '\n');
    }
    if (buf.len > CONTEXT_MAX)
        buf.len = CONTEXT_MAX;  //  may split a character: escaped later
    alert->context = buf.failed ? NULL : strndup (buf.data ? buf.data : "",
                                                     buf.len);
    hc_buf_free (&buf);
    alert->actor = strndup (record->actor.ptr ? record->actor.ptr : "",
                              record->actor.len);
    alert->event = strndup (record->event.ptr ? record->event.ptr : "",
                              record->event.len);
    if (!alert->key || !alert->context || !alert->actor || !alert->event) {
        alert_release (&alert);
        return NULL;
    }
    return alert;
}

alert_t *
alert_new_text (const char *html)
{
    alert_t *alert = (alert_t *) calloc (1, sizeof (alert_t));
    if (!alert)
        return NULL;
    alert->refs = 1;
    alert->context = strdup (html);
    if (!alert->context)
        alert_release (&alert);
    return alert;
}

//  ---------------------------------------------------------------------
//  The message text

//  UTF-16 units Telegram counts for these UTF-8 bytes
static size_t
s_utf16_len (const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s [i];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

//  Length of the valid UTF-8 character at s, or 0
static size_t
s_char_len (const char *s, size_t n)
{
    unsigned char c = (unsigned char) *s;
    size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2
                                                                          : 0;
    return len && len <= n && utf8_valid (s, len) ? len : 0;
}

//  What HTML shows in place of c, or NULL for c itself
static const char *
s_html_entity (char c)
{
    switch (c) {
        case '&': return "&amp;";
        case '<': return "&lt;";
        case '>': return "&gt;";
        case '"': return "&quot;";
        case '\n':
        case '\t': return NULL;
        default:                //  other control characters
            return (unsigned char) c < 0x20 || c == 0x7f ? "\xef\xbf\xbd"
                                                         : NULL;
    }
}

//  Appends s as HTML text: &, <, > and " escaped, control characters and
//  bytes that are not UTF-8 shown as U+FFFD. Stops before going over
//  *budget UTF-16 units; returns false if it had to stop.
static bool
s_escape (hc_buf_t *out, hc_str_t s, size_t *budget)
{
    for (size_t i = 0; i < s.len;) {
        size_t len = s_char_len (s.ptr + i, s.len - i);
        const char *text = len ? s_html_entity (s.ptr [i]) : "\xef\xbf\xbd";
        size_t text_len = text ? strlen (text) : len;
        if (!text)
            text = s.ptr + i;
        size_t units = s_utf16_len (text, text_len);
        if (units > *budget)
            return false;
        *budget -= units;
        hc_buf_append (out, text, text_len);
        i += len ? len : 1;
    }
    return true;
}

static void
s_escape_capped (hc_buf_t *out, const char *s)
{
    size_t budget = HEAD_VALUE_MAX;
    hc_str_t value = hc_str (s);
    if (!s_escape (out, value, &budget))
        hc_buf_append_cstr (out, "\xe2\x80\xa6");
}

static const char *
s_level_mark (hc_log_level_t level)
{
    return level == HC_LOG_ERROR ? "\xf0\x9f\x94\xb4"       //  red circle
         : level == HC_LOG_WARN ? "\xf0\x9f\x9f\xa0"        //  orange circle
         : "\xf0\x9f\x9f\xa2";                              //  green circle
}

void
alert_render (const alert_t *alert, const alert_repeat_t *repeat,
              const char *host, hc_buf_t *out)
{
    hc_buf_reset (out);
    if (!alert->key) {          //  ready-made, already HTML
        hc_buf_append_cstr (out, alert->context);
        return;
    }
    hc_buf_append_cstr (out, s_level_mark (alert->level));
    hc_buf_append_cstr (out, " <b>");
    hc_buf_append_cstr (out, hc_log_level_name (alert->level));
    hc_buf_append_cstr (out, "</b> <b>");
    s_escape_capped (out, alert->event);
    hc_buf_append_cstr (out, "</b>\nactor: ");
    s_escape_capped (out, alert->actor);
    hc_buf_append_cstr (out, "\nhost: ");
    s_escape_capped (out, host);
    hc_buf_append_char (out, '\n');

    char footer [200] = "";
    size_t used = 0;
    if (repeat->count > 1 || repeat->since < repeat->due) {
        int64_t secs = (repeat->now - repeat->since + 500) / 1000;
        used += (size_t) snprintf (footer + used, sizeof (footer) - used,
                                   "<i>\xc3\x97%u in the last %lld s</i>\n",
                                   repeat->count,
                                   (long long) (secs < 1 ? 1 : secs));
    }
    if (repeat->dropped)
        snprintf (footer + used, sizeof (footer) - used,
                  "<i>%llu earlier alert%s dropped (queue full)</i>\n",
                  (unsigned long long) repeat->dropped,
                  repeat->dropped == 1 ? " was" : "s were");
    size_t fixed = s_utf16_len (out->data, out->len)
                 + s_utf16_len (footer, strlen (footer)) + 2;
    size_t budget = ALERT_TEXT_MAX > fixed ? ALERT_TEXT_MAX - fixed : 0;
    if (!s_escape (out, hc_str (alert->context), &budget))
        hc_buf_append_cstr (out, "\xe2\x80\xa6\n");     //  cut here
    hc_buf_append_cstr (out, footer);
    while (out->len && out->data [out->len - 1] == '\n')
        out->len--;
}

//  ---------------------------------------------------------------------
//  Self test

static msg_log_t
s_record (hc_log_level_t level, const char *actor, const char *event,
          const hc_field_t *fields, size_t n)
{
    msg_log_t record = {level, 0, hc_str (actor), hc_str (event), fields, n};
    return record;
}

static void
s_test_classify (void)
{
    hc_log_level_t severity;
    hc_field_t why [] = {hc_field_str ("reason",
                                       HC_STR_LIT ("total_queue_bytes"))};
    msg_log_t r = s_record (HC_LOG_ERROR, "rooms", "rooms.bind_failed", NULL,
                            0);
    assert (alert_classify (&r, &severity) == ALERT_ALONE
            && severity == HC_LOG_ERROR);
    r = s_record (HC_LOG_INFO, "rooms", "relay.forwarded", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_NONE);
    r = s_record (HC_LOG_WARN, "rooms", "relay.dropped", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_NONE);
    r = s_record (HC_LOG_WARN, "rooms", "relay.dropped", why, 1);
    assert (alert_classify (&r, &severity) == ALERT_ALONE
            && severity == HC_LOG_WARN);
    r = s_record (HC_LOG_WARN, "gateway", "bus.malformed", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_ALONE
            && severity == HC_LOG_WARN);
    r = s_record (HC_LOG_WARN, "rooms", "link.refused", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_ALONE
            && severity == HC_LOG_WARN);
    r = s_record (HC_LOG_INFO, "server", "server.started", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_ALONE
            && severity == HC_LOG_INFO);
    r = s_record (HC_LOG_INFO, "gateway", "server.started", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_NONE);
    r = s_record (HC_LOG_WARN, "gateway", "client.error", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_CLIENT_ERROR);
    r = s_record (HC_LOG_ERROR, "notifier", "telegram.failed", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_NONE);
    r = s_record (HC_LOG_ERROR, "notifier", "notifier.reopen_failed", NULL, 0);
    assert (alert_classify (&r, &severity) == ALERT_ALONE);
}

void
alert_test (bool verbose)
{
    if (verbose)
        printf (" * alert: ");
    s_test_classify ();
    hc_field_t fields [] = {hc_field_str ("why", HC_STR_LIT ("a<b & \"c\"")),
                            hc_field_int ("n", 7)};
    msg_log_t record = s_record (HC_LOG_ERROR, "rooms", "x.y", fields, 2);
    assert (hc_str_eq_cstr (alert_field (&record, "why"), "a<b & \"c\""));
    assert (!hc_str_present (alert_field (&record, "n")));  //  text only
    alert_t *alert = alert_new (&record, HC_LOG_WARN);
    assert (alert && alert->level == HC_LOG_WARN);
    assert (streq (alert->key, "error|rooms|x.y|a<b & \"c\""));
    hc_buf_t text;
    hc_buf_init (&text, 0);
    alert_repeat_t once = {1, 0, 0, 0, 0};
    alert_render (alert, &once, "h\x01st", &text);
    assert (strstr (hc_buf_cstr (&text), "<b>x.y</b>\nactor: rooms\nhost: "
                                         "h\xef\xbf\xbdst\n"));
    assert (strstr (hc_buf_cstr (&text),
                    "why: a&lt;b &amp; &quot;c&quot;\nn: 7"));
    alert_repeat_t often = {5, 1000, 1000, 31000, 2};
    alert_render (alert, &often, "h", &text);
    assert (strstr (hc_buf_cstr (&text), "\xc3\x97" "5 in the last 30 s"));
    assert (strstr (hc_buf_cstr (&text), "2 earlier alerts were dropped"));
    //  A ready-made text goes as it is
    alert_t *ready = alert_new_text ("<b>hi</b>");
    alert_render (ready, &once, "h", &text);
    assert (streq (hc_buf_cstr (&text), "<b>hi</b>"));
    alert_release (&ready);
    alert_release (&alert);

    //  The text: never over 4096 UTF-16 units, escaped without cutting a
    //  character or an entity, bytes that are not UTF-8 replaced
    char *huge = (char *) malloc (9000);
    for (size_t i = 0; i < 8999; i++)
        huge [i] = "<\xf0\x9f\x98\x80&x\xff" [i % 8];
    huge [8999] = 0;
    hc_field_t big [] = {hc_field_str ("why", hc_str (huge))};
    msg_log_t big_record = s_record (HC_LOG_ERROR, "rooms", "big", big, 1);
    alert = alert_new (&big_record, HC_LOG_ERROR);
    alert_repeat_t five = {5, 80000, 80000, 80000, 0};
    alert_render (alert, &five, "h", &text);
    assert (s_utf16_len (text.data, text.len) <= ALERT_TEXT_MAX);
    assert (s_utf16_len (text.data, text.len) > ALERT_TEXT_MAX - 20);
    assert (utf8_valid (text.data, text.len));
    assert (strstr (hc_buf_cstr (&text), "&lt;\xf0\x9f\x98\x80&amp;x\xef\xbf"
                                         "\xbd&lt;"));
    assert (strstr (hc_buf_cstr (&text), "\xe2\x80\xa6\n<i>\xc3\x97"
                                         "5 in the last 1 s</i>"));
    assert (!strchr (hc_buf_cstr (&text), '\xff'));
    free (huge);
    alert_release (&alert);
    assert (alert == NULL);
    hc_buf_free (&text);
    if (verbose)
        printf ("OK\n");
}
