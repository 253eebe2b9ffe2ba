/*  alerts.c - which log records become Telegram alerts, and when they go */
#include "alerts.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#define RECENT_MAX 64           //  keys remembered per chat for merging
#define MINUTE_MS 60000

//  One message waiting for one chat
typedef struct {
    alert_t *alert;             //  what it says (the first occurrence)
    uint32_t count;             //  occurrences merged into it
    int64_t since;              //  the count covers (since, now]
    int64_t due;                //  not before this (repeats wait)
} item_t;

//  A key that went out recently, for merging repeats
typedef struct {
    char *key;                  //  NULL: free slot
    int64_t at;                 //  when its last message went out
} recent_t;

typedef struct {
    int64_t id;                 //  Telegram chat id
    item_t *queue;              //  oldest first, queue_max slots
    size_t queue_n;             //  items waiting
    item_t inflight;            //  being sent (alert == NULL: none)
    uint64_t dropped;           //  alerts dropped, not reported yet
    uint64_t inflight_dropped;  //  ...of which the in-flight text reports
    int64_t *sends;             //  ring: start times of the last sends
    size_t sends_n;             //  entries used (at most per_minute)
    size_t sends_head;          //  oldest entry
    int64_t blocked_until;      //  429 or backoff: nothing before this
    unsigned failures;          //  consecutive retryable failures
    recent_t recent [RECENT_MAX];   //  keys sent within the window
} chat_t;

struct _alerts_t {
    alerts_cfg_t cfg;           //  settings (host copied below)
    char host [128];            //  our host name
    chat_t *chats [ALERTS_CHATS_MAX];   //  recipients
    size_t chats_n;
    size_t turn;                //  round robin start for alerts_next
    int64_t burst_start;        //  client error window start
    int64_t burst_count;        //  client errors in that window
    bool burst_fired;           //  the window already alerted
    uint64_t dropped;           //  alerts dropped, all chats, ever
};

//  ---------------------------------------------------------------------
//  Chats

static chat_t *
s_chat_new (const alerts_cfg_t *cfg, int64_t id)
{
    chat_t *chat = (chat_t *) calloc (1, sizeof (chat_t));
    if (!chat)
        return NULL;
    chat->id = id;
    chat->queue = (item_t *) calloc (cfg->queue_max, sizeof (item_t));
    chat->sends = (int64_t *) calloc ((size_t) cfg->per_minute,
                                      sizeof (int64_t));
    if (!chat->queue || !chat->sends) {
        free (chat->queue);
        free (chat->sends);
        free (chat);
        return NULL;
    }
    return chat;
}

static void
s_chat_destroy (chat_t **chat_p)
{
    chat_t *chat = *chat_p;
    for (size_t i = 0; i < chat->queue_n; i++)
        alert_release (&chat->queue [i].alert);
    alert_release (&chat->inflight.alert);
    for (size_t i = 0; i < RECENT_MAX; i++)
        free (chat->recent [i].key);
    free (chat->queue);
    free (chat->sends);
    free (chat);
    *chat_p = NULL;
}

static chat_t *
s_chat_find (alerts_t *self, int64_t id)
{
    for (size_t i = 0; i < self->chats_n; i++)
        if (self->chats [i]->id == id)
            return self->chats [i];
    return NULL;
}

static recent_t *
s_recent_find (chat_t *chat, const char *key)
{
    for (size_t i = 0; i < RECENT_MAX; i++)
        if (chat->recent [i].key && strcmp (chat->recent [i].key, key) == 0)
            return &chat->recent [i];
    return NULL;
}

//  Notes that key went out at now; a full table forgets its oldest key
static void
s_recent_note (chat_t *chat, const char *key, int64_t now)
{
    recent_t *slot = s_recent_find (chat, key);
    if (!slot) {
        slot = &chat->recent [0];
        for (size_t i = 0; i < RECENT_MAX && slot->key; i++)
            if (!chat->recent [i].key || chat->recent [i].at < slot->at)
                slot = &chat->recent [i];
        free (slot->key);
        slot->key = strdup (key);
    }
    slot->at = now;
}

static void
s_queue_remove (chat_t *chat, size_t index)
{
    memmove (&chat->queue [index], &chat->queue [index + 1],
             (chat->queue_n - index - 1) * sizeof (item_t));
    chat->queue_n--;
}

//  Makes room for one more item: the oldest goes, and is counted
static void
s_queue_make_room (alerts_t *self, chat_t *chat)
{
    if (chat->queue_n < self->cfg.queue_max)
        return;
    alert_release (&chat->queue [0].alert);
    s_queue_remove (chat, 0);
    chat->dropped++;
    self->dropped++;
}

static void
s_chat_push (alerts_t *self, chat_t *chat, alert_t *alert, int64_t now)
{
    if (alert->key) {
        for (size_t i = 0; i < chat->queue_n; i++) {
            alert_t *queued = chat->queue [i].alert;
            if (queued->key && strcmp (queued->key, alert->key) == 0) {
                chat->queue [i].count++;
                return;
            }
        }
    }
    item_t item = {alert, 1, now, now};
    recent_t *recent = alert->key ? s_recent_find (chat, alert->key) : NULL;
    if (recent && now - recent->at < self->cfg.window_ms) {
        item.since = recent->at;
        item.due = recent->at + self->cfg.window_ms;
    }
    s_queue_make_room (self, chat);
    alert->refs++;
    chat->queue [chat->queue_n++] = item;
}

//  Earliest time the chat may send anything, by its limits alone
static int64_t
s_chat_ready_at (alerts_t *self, chat_t *chat)
{
    int64_t at = chat->blocked_until;
    if (chat->sends_n > 0) {
        size_t last = (chat->sends_head + chat->sends_n - 1)
                    % (size_t) self->cfg.per_minute;
        if (chat->sends [last] + self->cfg.interval_ms > at)
            at = chat->sends [last] + self->cfg.interval_ms;
    }
    if (chat->sends_n == (size_t) self->cfg.per_minute
    &&  chat->sends [chat->sends_head] + MINUTE_MS > at)
        at = chat->sends [chat->sends_head] + MINUTE_MS;
    return at;
}

static void
s_chat_note_send (alerts_t *self, chat_t *chat, int64_t now)
{
    size_t size = (size_t) self->cfg.per_minute;
    if (chat->sends_n < size)
        chat->sends [(chat->sends_head + chat->sends_n++) % size] = now;
    else {
        chat->sends [chat->sends_head] = now;
        chat->sends_head = (chat->sends_head + 1) % size;
    }
}

//  ---------------------------------------------------------------------
//  The message text

//  ---------------------------------------------------------------------
//  Public API

alerts_t *
alerts_new (const alerts_cfg_t *cfg)
{
    assert (cfg->per_minute > 0 && cfg->queue_max > 0);
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
            s_chat_destroy (&self->chats [i]);
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
    chat_t *added = s_chat_new (&self->cfg, chat);
    if (!added)
        return -1;
    self->chats [self->chats_n++] = added;
    return 0;
}

int
alerts_remove_chat (alerts_t *self, int64_t chat)
{
    for (size_t i = 0; i < self->chats_n; i++)
        if (self->chats [i]->id == chat) {
            s_chat_destroy (&self->chats [i]);
            self->chats [i] = self->chats [--self->chats_n];
            return 0;
        }
    return -1;
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
        s_chat_push (self, self->chats [i], alert, now);
    alert_release (&alert);
}

bool
alerts_client_error (alerts_t *self, const msg_log_t *record, int64_t now)
{
    if (self->cfg.burst <= 0)
        return false;
    if (self->burst_count == 0
    ||  now - self->burst_start >= self->cfg.window_ms) {
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
    chat_t *target = s_chat_find (self, chat);
    alert_t *alert = target ? alert_new_text (html) : NULL;
    if (alert)
        s_chat_push (self, target, alert, now);
    alert_release (&alert);
}

bool
alerts_next (alerts_t *self, int64_t now, int64_t *chat_id, hc_buf_t *text)
{
    for (size_t n = 0; n < self->chats_n; n++) {
        chat_t *chat = self->chats [(self->turn + n) % self->chats_n];
        if (chat->inflight.alert || chat->queue_n == 0
        ||  s_chat_ready_at (self, chat) > now)
            continue;
        for (size_t i = 0; i < chat->queue_n; i++) {
            if (chat->queue [i].due > now)
                continue;
            chat->inflight = chat->queue [i];
            s_queue_remove (chat, i);
            s_chat_note_send (self, chat, now);
            if (chat->inflight.alert->key)
                s_recent_note (chat, chat->inflight.alert->key, now);
            chat->inflight_dropped = chat->dropped;
            alert_repeat_t repeat = {chat->inflight.count,
                                     chat->inflight.since,
                                     chat->inflight.due, now, chat->dropped};
            alert_render (chat->inflight.alert, &repeat, self->host, text);
            *chat_id = chat->id;
            self->turn = (self->turn + n + 1) % self->chats_n;
            return true;
        }
    }
    return false;
}

int64_t
alerts_done (alerts_t *self, int64_t chat_id, alerts_outcome_t outcome,
             int64_t retry_after_ms, int64_t now)
{
    chat_t *chat = s_chat_find (self, chat_id);
    if (!chat || !chat->inflight.alert)
        return 0;               //  unsubscribed meanwhile
    if (outcome == ALERTS_SENT || outcome == ALERTS_FAILED) {
        if (outcome == ALERTS_SENT)
            chat->dropped -= chat->inflight_dropped;
        chat->failures = 0;
        alert_release (&chat->inflight.alert);
        return 0;
    }
    int64_t delay = retry_after_ms > 0 ? retry_after_ms : 1;
    if (outcome == ALERTS_RETRY) {
        delay = alerts_backoff (self->cfg.backoff_min_ms,
                                self->cfg.backoff_max_ms, chat->failures++);
    }
    chat->blocked_until = now + delay;
    //  Back to the front, with any repeat that queued meanwhile merged in
    item_t item = chat->inflight;
    chat->inflight.alert = NULL;
    for (size_t i = 0; i < chat->queue_n; i++) {
        alert_t *queued = chat->queue [i].alert;
        if (item.alert->key && queued->key
        &&  strcmp (queued->key, item.alert->key) == 0) {
            item.count += chat->queue [i].count;
            alert_release (&chat->queue [i].alert);
            s_queue_remove (chat, i);
            break;
        }
    }
    if (chat->queue_n == self->cfg.queue_max) {
        alert_release (&item.alert);      //  it is the oldest
        chat->dropped++;
        self->dropped++;
        return delay;
    }
    memmove (&chat->queue [1], &chat->queue [0],
             chat->queue_n * sizeof (item_t));
    chat->queue [0] = item;
    chat->queue_n++;
    return delay;
}

int64_t
alerts_backoff (int64_t min_ms, int64_t max_ms, unsigned failures)
{
    int64_t delay = min_ms;
    for (unsigned i = 0; i < failures && delay < max_ms; i++)
        delay *= 2;
    return delay < max_ms ? delay : max_ms;
}

int64_t
alerts_next_at (alerts_t *self)
{
    int64_t next = -1;
    for (size_t n = 0; n < self->chats_n; n++) {
        chat_t *chat = self->chats [n];
        if (chat->inflight.alert || chat->queue_n == 0)
            continue;
        int64_t due = chat->queue [0].due;
        for (size_t i = 1; i < chat->queue_n; i++)
            if (chat->queue [i].due < due)
                due = chat->queue [i].due;
        int64_t ready = s_chat_ready_at (self, chat);
        int64_t at = due > ready ? due : ready;
        if (next == -1 || at < next)
            next = at;
    }
    return next;
}

size_t
alerts_pending (alerts_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->chats_n; i++)
        n += self->chats [i]->queue_n + (self->chats [i]->inflight.alert != 0);
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
    alerts_done (alerts, chat, ALERTS_SENT, 0, now);
    return hc_buf_cstr (text);
}

void
alerts_test (bool verbose)
{
    if (verbose)
        printf (" * alerts: ");
    alerts_cfg_t cfg = {HC_LOG_INFO, 1000, 3, 60000, 3, 1000, 3000, 3,
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
    assert (alerts_done (alerts, 42, ALERTS_RETRY_AFTER, 5000, 120100)
            == 5000);
    assert (alerts_next_at (alerts) == 125100);
    assert (!alerts_next (alerts, 125099, &chat, &text));
    assert (alerts_next (alerts, 125100, &chat, &text));
    assert (strstr (hc_buf_cstr (&text), "e.three"));
    //  5xx / network: 1 s, 2 s, then capped at 3 s; success resets
    assert (alerts_done (alerts, 42, ALERTS_RETRY, 0, 126000) == 1000);
    assert (alerts_next_at (alerts) == 127000);
    assert (alerts_next (alerts, 200000, &chat, &text));
    assert (alerts_done (alerts, 42, ALERTS_RETRY, 0, 200000) == 2000);
    assert (alerts_next (alerts, 202000, &chat, &text));
    assert (alerts_done (alerts, 42, ALERTS_RETRY, 0, 202000) == 3000);
    assert (!alerts_next (alerts, 204999, &chat, &text));
    assert (alerts_next (alerts, 205000, &chat, &text));
    alerts_done (alerts, 42, ALERTS_SENT, 0, 205000);
    assert (alerts_pending (alerts) == 0);

    //  A repeat that queued while its first was in flight merges back
    s_push (alerts, "e.four", "", 300000);
    assert (alerts_next (alerts, 300000, &chat, &text));
    s_push (alerts, "e.four", "", 300001);
    s_push (alerts, "e.four", "", 300002);
    alerts_done (alerts, 42, ALERTS_RETRY, 0, 300100);
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
    alerts_done (alerts, 42, ALERTS_FAILED, 0, 470000);
    assert (alerts_pending (alerts) == 1);
    t = s_take (alerts, 471000, &text, 42);
    assert (t && strstr (t, "k7"));

    //  Below the minimum level: not queued
    msg_log_t info = {HC_LOG_INFO, 0, HC_STR_LIT ("server"),
                      HC_STR_LIT ("server.started"), NULL, 0};
    alerts_destroy (&alerts);
    cfg.min_level = HC_LOG_WARN;
    cfg.per_minute = 100;
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
    alerts_done (alerts, 1, ALERTS_RETRY_AFTER, 30000, 10);
    alerts_done (alerts, 2, ALERTS_SENT, 0, 10);
    s_push (alerts, "y", "", 2000);
    t = s_take (alerts, 2000, &text, 2);
    assert (t && strstr (t, "<b>y</b>"));
    assert (alerts_next_at (alerts) == 30010);
    assert (alerts_remove_chat (alerts, 1) == 0);
    assert (alerts_remove_chat (alerts, 1) == -1);
    assert (alerts_pending (alerts) == 0);
    //  A result for a chat that left meanwhile is ignored
    assert (alerts_done (alerts, 1, ALERTS_SENT, 0, 2000) == 0);

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
