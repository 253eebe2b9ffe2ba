/*  alerts.c - which log records become Telegram alerts, and when they go

    The chats and what is common to them: every alert goes to each chat's
    queue (alert_queue.c, which merges, limits and retries), the chats take
    turns at sending, and client errors are counted into bursts here.
*/
#include "alerts.h"
#include "alert_queue.h"
#include "../common/deadline.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _alerts_t {
    alerts_cfg_t cfg;           //  settings (host copied below)
    char host [128];            //  our host name
    alert_queue_t *chats [ALERTS_CHATS_MAX];    //  one queue per recipient
    size_t chats_n;
    size_t turn;                //  round robin start for alerts_next
    int64_t burst_start;        //  client error window start
    int64_t burst_count;        //  client errors in that window
    bool burst_fired;           //  the window already alerted
    uint64_t dropped;           //  alerts dropped, all chats, ever
};

//  Where the chat's queue is in chats, or chats_n when it is not there
static size_t
s_chat_index (alerts_t *self, int64_t chat)
{
    size_t index = 0;
    while (index < self->chats_n
    &&     alert_queue_chat (self->chats [index]) != chat)
        index++;
    return index;
}

static alert_queue_t *
s_chat_find (alerts_t *self, int64_t chat)
{
    size_t index = s_chat_index (self, chat);
    return index < self->chats_n ? self->chats [index] : NULL;
}

//  ---------------------------------------------------------------------
//  Public API

alerts_t *
alerts_new (const alerts_cfg_t *cfg)
{
    assert (cfg->chat.per_minute > 0 && cfg->chat.queue_max > 0);
    alerts_t *self = (alerts_t *) calloc (1, sizeof (alerts_t));
    if (!self)
        return NULL;
    self->cfg = *cfg;
    snprintf (self->host, sizeof (self->host), "%s",
              cfg->host ? cfg->host : "");
    self->cfg.host = self->host;
    return self;
}

void
alerts_destroy (alerts_t **self_p)
{
    assert (self_p);
    alerts_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->chats_n; i++)
            alert_queue_destroy (&self->chats [i]);
        free (self);
        *self_p = NULL;
    }
}

int
alerts_add_chat (alerts_t *self, int64_t chat)
{
    if (s_chat_find (self, chat))
        return 1;
    if (self->chats_n == ALERTS_CHATS_MAX)
        return -1;
    alert_queue_t *added = alert_queue_new (&self->cfg.chat, chat);
    if (!added)
        return -1;
    self->chats [self->chats_n++] = added;
    return 0;
}

int
alerts_remove_chat (alerts_t *self, int64_t chat)
{
    size_t index = s_chat_index (self, chat);
    if (index == self->chats_n)
        return -1;
    alert_queue_destroy (&self->chats [index]);
    self->chats [index] = self->chats [--self->chats_n];
    return 0;
}

size_t
alerts_chats (alerts_t *self)
{
    return self->chats_n;
}

void
alerts_push (alerts_t *self, const msg_log_t *record, hc_log_level_t severity,
             int64_t now)
{
    if (severity < self->cfg.min_level || self->chats_n == 0)
        return;
    alert_t *alert = alert_new (record, severity);
    if (!alert)
        return;
    for (size_t i = 0; i < self->chats_n; i++)
        self->dropped += alert_queue_push (self->chats [i], alert, now);
    alert_release (&alert);
}

bool
alerts_client_error (alerts_t *self, const msg_log_t *record, int64_t now)
{
    if (self->cfg.burst <= 0)
        return false;
    if (self->burst_count == 0
    ||  now - self->burst_start >= self->cfg.chat.window_ms) {
        self->burst_start = now;
        self->burst_count = 0;
        self->burst_fired = false;
    }
    self->burst_count++;
    if (self->burst_fired || self->burst_count < self->cfg.burst)
        return false;
    self->burst_fired = true;
    hc_field_t fields [] = {
        hc_field_int ("count", self->burst_count),
        hc_field_int ("within_s", (now - self->burst_start + 999) / 1000),
        hc_field_str ("last", record->event),
    };
    msg_log_t burst = {HC_LOG_WARN, record->time_us, record->actor,
                       HC_STR_LIT ("client.errors"), fields, 3};
    alerts_push (self, &burst, HC_LOG_WARN, now);
    return true;
}

void
alerts_push_text (alerts_t *self, int64_t chat, const char *html, int64_t now)
{
    alert_queue_t *target = s_chat_find (self, chat);
    alert_t *alert = target ? alert_new_text (html) : NULL;
    if (alert)
        self->dropped += alert_queue_push (target, alert, now);
    alert_release (&alert);
}

bool
alerts_next (alerts_t *self, int64_t now, int64_t *chat, hc_buf_t *text)
{
    for (size_t n = 0; n < self->chats_n; n++) {
        alert_queue_t *queue = self->chats [(self->turn + n) % self->chats_n];
        if (alert_queue_take (queue, now, self->host, text)) {
            *chat = alert_queue_chat (queue);
            self->turn = (self->turn + n + 1) % self->chats_n;
            return true;
        }
    }
    return false;
}

int64_t
alerts_done (alerts_t *self, int64_t chat, alert_outcome_t outcome,
             int64_t retry_after_ms, int64_t now)
{
    alert_queue_t *queue = s_chat_find (self, chat);
    if (!queue)
        return 0;               //  unsubscribed meanwhile
    size_t dropped;
    int64_t delay = alert_queue_done (queue, outcome, retry_after_ms, now,
                                      &dropped);
    self->dropped += dropped;
    return delay;
}

int64_t
alerts_next_at (alerts_t *self)
{
    int64_t next = -1;
    for (size_t i = 0; i < self->chats_n; i++)
        next = hc_deadline_earliest (next,
                                     alert_queue_next_at (self->chats [i]));
    return next;
}

size_t
alerts_pending (alerts_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->chats_n; i++)
        n += alert_queue_pending (self->chats [i]);
    return n;
}

uint64_t
alerts_dropped (alerts_t *self)
{
    return self->dropped;
}

//  ---------------------------------------------------------------------
//  Self test, on a fake clock

static void
s_push (alerts_t *alerts, const char *event, const char *why, int64_t now)
{
    hc_field_t fields [] = {hc_field_str ("why", hc_str (why))};
    msg_log_t record = {HC_LOG_ERROR, 0, HC_STR_LIT ("rooms"), hc_str (event),
                        fields, 1};
    alerts_push (alerts, &record, HC_LOG_ERROR, now);
}

//  Takes the next message and says it was sent
static const char *
s_take (alerts_t *alerts, int64_t now, hc_buf_t *text, int64_t expect_chat)
{
    int64_t chat = 0;
    if (!alerts_next (alerts, now, &chat, text))
        return NULL;
    assert (chat == expect_chat);
    alerts_done (alerts, chat, ALERT_SENT, 0, now);
    return hc_buf_cstr (text);
}

void
alerts_test (bool verbose)
{
    if (verbose)
        printf (" * alerts: ");
    alerts_cfg_t cfg = {HC_LOG_INFO, {1000, 3, 60000, 3, 1000, 3000}, 3,
                        "box<1>"};
    alerts_t *alerts = alerts_new (&cfg);
    hc_buf_t text;
    hc_buf_init (&text, 0);
    int64_t chat = 0;
    assert (alerts_add_chat (alerts, 42) == 0);
    assert (alerts_add_chat (alerts, 42) == 1);
    assert (alerts_next_at (alerts) == -1);

    //  The first goes at once, with host, actor, event and escaped context
    s_push (alerts, "rooms.bind_failed", "a<b>&c", 0);
    assert (alerts_next_at (alerts) == 0);
    const char *t = s_take (alerts, 0, &text, 42);
    assert (t && strstr (t, "<b>error</b> <b>rooms.bind_failed</b>"));
    assert (strstr (t, "\nactor: rooms\nhost: box&lt;1&gt;\n"));
    assert (strstr (t, "why: a&lt;b&gt;&amp;c"));
    assert (!strstr (t, "a<b>") && !strstr (t, "\xc3\x97"));
    //  Repeats within the window wait for its end and go out as one
    for (int i = 0; i < 17; i++)
        s_push (alerts, "rooms.bind_failed", "a<b>&c", 100 + i);
    assert (alerts_pending (alerts) == 1);
    assert (!alerts_next (alerts, 30000, &chat, &text));
    assert (alerts_next_at (alerts) == 60000);
    t = s_take (alerts, 60000, &text, 42);
    assert (t && strstr (t, "<i>\xc3\x97" "17 in the last 60 s</i>"));
    //  Another kind of problem (other why) is another message
    s_push (alerts, "rooms.bind_failed", "other", 61000);
    assert (alerts_pending (alerts) == 1);

    //  Rate: 1 per interval, 3 per minute (60000 and 61000 count)
    s_push (alerts, "e.two", "", 61000);
    assert (!alerts_next (alerts, 60999, &chat, &text));
    assert (alerts_next_at (alerts) == 61000);
    assert (s_take (alerts, 61000, &text, 42));
    assert (!alerts_next (alerts, 61500, &chat, &text));
    assert (alerts_next_at (alerts) == 62000);
    assert (s_take (alerts, 62000, &text, 42));     //  third in the minute
    s_push (alerts, "e.three", "", 62000);
    assert (alerts_next_at (alerts) == 120000);     //  60000 + 1 minute
    assert (!alerts_next (alerts, 119999, &chat, &text));
    //  429: the same message again after retry_after
    assert (alerts_next (alerts, 120000, &chat, &text) && chat == 42);
    assert (alerts_done (alerts, 42, ALERT_RETRY_AFTER, 5000, 120100)
            == 5000);
    assert (alerts_next_at (alerts) == 125100);
    assert (!alerts_next (alerts, 125099, &chat, &text));
    assert (alerts_next (alerts, 125100, &chat, &text));
    assert (strstr (hc_buf_cstr (&text), "e.three"));
    //  5xx / network: 1 s, 2 s, then capped at 3 s; success resets
    assert (alerts_done (alerts, 42, ALERT_RETRY, 0, 126000) == 1000);
    assert (alerts_next_at (alerts) == 127000);
    assert (alerts_next (alerts, 200000, &chat, &text));
    assert (alerts_done (alerts, 42, ALERT_RETRY, 0, 200000) == 2000);
    assert (alerts_next (alerts, 202000, &chat, &text));
    assert (alerts_done (alerts, 42, ALERT_RETRY, 0, 202000) == 3000);
    assert (!alerts_next (alerts, 204999, &chat, &text));
    assert (alerts_next (alerts, 205000, &chat, &text));
    alerts_done (alerts, 42, ALERT_SENT, 0, 205000);
    assert (alerts_pending (alerts) == 0);

    //  A repeat that queued while its first was in flight merges back
    s_push (alerts, "e.four", "", 300000);
    assert (alerts_next (alerts, 300000, &chat, &text));
    s_push (alerts, "e.four", "", 300001);
    s_push (alerts, "e.four", "", 300002);
    alerts_done (alerts, 42, ALERT_RETRY, 0, 300100);
    assert (alerts_pending (alerts) == 1);
    t = s_take (alerts, 301100, &text, 42);
    assert (t && strstr (t, "\xc3\x97" "3 in the last 1 s"));

    //  Full queue (3): the oldest goes, the next message says so
    s_push (alerts, "k1", "", 400000);
    s_push (alerts, "k2", "", 400000);
    s_push (alerts, "k3", "", 400000);
    s_push (alerts, "k4", "", 400000);
    s_push (alerts, "k5", "", 400000);
    assert (alerts_pending (alerts) == 3 && alerts_dropped (alerts) == 2);
    t = s_take (alerts, 400000, &text, 42);
    assert (t && strstr (t, "k3") && strstr (t, "2 earlier alerts were "
                                                "dropped (queue full)"));
    t = s_take (alerts, 401000, &text, 42);
    assert (t && strstr (t, "k4") && !strstr (t, "dropped"));
    //  A message refused for good (4xx) is dropped, not retried
    s_push (alerts, "k6", "", 401000);
    s_push (alerts, "k7", "", 401000);
    assert (alerts_pending (alerts) == 3);
    t = s_take (alerts, 402000, &text, 42);
    assert (t && strstr (t, "k5"));
    assert (alerts_next (alerts, 470000, &chat, &text));
    alerts_done (alerts, 42, ALERT_FAILED, 0, 470000);
    assert (alerts_pending (alerts) == 1);
    t = s_take (alerts, 471000, &text, 42);
    assert (t && strstr (t, "k7"));

    //  Below the minimum level: not queued
    msg_log_t info = {HC_LOG_INFO, 0, HC_STR_LIT ("server"),
                      HC_STR_LIT ("server.started"), NULL, 0};
    alerts_destroy (&alerts);
    cfg.min_level = HC_LOG_WARN;
    cfg.chat.per_minute = 100;
    alerts = alerts_new (&cfg);
    alerts_add_chat (alerts, 1);
    alerts_add_chat (alerts, 2);
    alerts_push (alerts, &info, HC_LOG_INFO, 0);
    assert (alerts_pending (alerts) == 0);

    //  Two chats: a 429 for one does not hold the other
    s_push (alerts, "x", "", 0);
    int64_t first = 0, second = 0;
    assert (alerts_next (alerts, 0, &first, &text));
    assert (alerts_next (alerts, 0, &second, &text));
    assert (first != second && !alerts_next (alerts, 0, &chat, &text));
    alerts_done (alerts, 1, ALERT_RETRY_AFTER, 30000, 10);
    alerts_done (alerts, 2, ALERT_SENT, 0, 10);
    s_push (alerts, "y", "", 2000);
    t = s_take (alerts, 2000, &text, 2);
    assert (t && strstr (t, "<b>y</b>"));
    assert (alerts_next_at (alerts) == 30010);
    assert (alerts_remove_chat (alerts, 1) == 0);
    assert (alerts_remove_chat (alerts, 1) == -1);
    assert (alerts_pending (alerts) == 0);
    //  A result for a chat that left meanwhile is ignored
    assert (alerts_done (alerts, 1, ALERT_SENT, 0, 2000) == 0);

    //  A ready-made text for one chat, never merged
    alerts_push_text (alerts, 2, "<b>hi</b>", 3000);
    alerts_push_text (alerts, 2, "<b>hi</b>", 3000);
    alerts_push_text (alerts, 99, "<b>nobody</b>", 3000);
    assert (alerts_pending (alerts) == 2);
    t = s_take (alerts, 3000, &text, 2);
    assert (t && strcmp (t, "<b>hi</b>") == 0);
    t = s_take (alerts, 4000, &text, 2);
    assert (t && strcmp (t, "<b>hi</b>") == 0);

    //  A burst of client errors: one alert at the threshold per window
    hc_field_t client_fields [] = {hc_field_str ("conn", HC_STR_LIT ("1"))};
    msg_log_t client = {HC_LOG_WARN, 0, HC_STR_LIT ("gateway"),
                        HC_STR_LIT ("client.error"), client_fields, 1};
    assert (!alerts_client_error (alerts, &client, 10000));
    assert (!alerts_client_error (alerts, &client, 10001));
    assert (alerts_client_error (alerts, &client, 10002));
    assert (!alerts_client_error (alerts, &client, 10003));
    t = s_take (alerts, 10002, &text, 2);
    assert (t && strstr (t, "<b>client.errors</b>\nactor: gateway")
            && strstr (t, "count: 3\nwithin_s: 1\nlast: client.error"));
    //  The next window counts afresh and alerts again
    assert (!alerts_client_error (alerts, &client, 69999));
    assert (!alerts_client_error (alerts, &client, 70000));
    assert (!alerts_client_error (alerts, &client, 70001));
    assert (alerts_client_error (alerts, &client, 70002));
    t = s_take (alerts, 70002, &text, 2);
    assert (t && strstr (t, "count: 3\nwithin_s: 1"));

    hc_buf_free (&text);
    alerts_destroy (&alerts);
    alerts_destroy (&alerts);
    if (verbose)
        printf ("OK\n");
}
