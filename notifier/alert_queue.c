/*  alert_queue.c - one chat's alerts: merged while they wait, sent within
    the chat's limits, put back when a request fails */
#include "alert_queue.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECENT_MAX 64           //  keys remembered for merging
#define MINUTE_MS 60000

//  One message waiting
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

struct _alert_queue_t {
    alert_queue_cfg_t cfg;      //  limits
    int64_t chat;               //  Telegram chat id
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
};

alert_queue_t *
alert_queue_new (const alert_queue_cfg_t *cfg, int64_t chat)
{
    assert (cfg->per_minute > 0 && cfg->queue_max > 0);
    alert_queue_t *self = (alert_queue_t *) calloc (1, sizeof (*self));
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->chat = chat;
    self->queue = (item_t *) calloc (cfg->queue_max, sizeof (item_t));
    self->sends = (int64_t *) calloc ((size_t) cfg->per_minute,
                                      sizeof (int64_t));
    if (!self->queue || !self->sends)
        alert_queue_destroy (&self);
    return self;
}

void
alert_queue_destroy (alert_queue_t **self_p)
{
    assert (self_p);
    alert_queue_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->queue_n; i++)
        alert_release (&self->queue [i].alert);
    alert_release (&self->inflight.alert);
    for (size_t i = 0; i < RECENT_MAX; i++)
        free (self->recent [i].key);
    free (self->queue);
    free (self->sends);
    free (self);
    *self_p = NULL;
}

int64_t
alert_queue_chat (alert_queue_t *self)
{
    return self->chat;
}

//  ---------------------------------------------------------------------
//  Merging

static recent_t *
s_recent_find (alert_queue_t *self, const char *key)
{
    for (size_t i = 0; i < RECENT_MAX; i++)
        if (self->recent [i].key && strcmp (self->recent [i].key, key) == 0)
            return &self->recent [i];
    return NULL;
}

//  Notes that key went out at now; a full table forgets its oldest key
static void
s_recent_note (alert_queue_t *self, const char *key, int64_t now)
{
    recent_t *slot = s_recent_find (self, key);
    if (!slot) {
        slot = &self->recent [0];
        for (size_t i = 0; i < RECENT_MAX && slot->key; i++)
            if (!self->recent [i].key || self->recent [i].at < slot->at)
                slot = &self->recent [i];
        free (slot->key);
        slot->key = strdup (key);
    }
    slot->at = now;
}

//  The waiting item with the alert's merge key, or NULL
static item_t *
s_queued_repeat (alert_queue_t *self, const alert_t *alert)
{
    if (alert->key)
        for (size_t i = 0; i < self->queue_n; i++) {
            const char *key = self->queue [i].alert->key;
            if (key && strcmp (key, alert->key) == 0)
                return &self->queue [i];
        }
    return NULL;
}

static void
s_queue_remove (alert_queue_t *self, size_t index)
{
    memmove (&self->queue [index], &self->queue [index + 1],
             (self->queue_n - index - 1) * sizeof (item_t));
    self->queue_n--;
}

//  Makes room for one more item: the oldest goes, and is counted
static size_t
s_queue_make_room (alert_queue_t *self)
{
    if (self->queue_n < self->cfg.queue_max)
        return 0;
    alert_release (&self->queue [0].alert);
    s_queue_remove (self, 0);
    self->dropped++;
    return 1;
}

size_t
alert_queue_push (alert_queue_t *self, alert_t *alert, int64_t now)
{
    item_t *repeat = s_queued_repeat (self, alert);
    if (repeat) {
        repeat->count++;
        return 0;
    }
    item_t item = {alert, 1, now, now};
    recent_t *recent = alert->key ? s_recent_find (self, alert->key) : NULL;
    if (recent && now - recent->at < self->cfg.window_ms) {
        item.since = recent->at;
        item.due = recent->at + self->cfg.window_ms;
    }
    size_t dropped = s_queue_make_room (self);
    alert->refs++;
    self->queue [self->queue_n++] = item;
    return dropped;
}

//  ---------------------------------------------------------------------
//  Limits

//  Earliest time the chat may send anything, by its limits alone
static int64_t
s_ready_at (alert_queue_t *self)
{
    int64_t at = self->blocked_until;
    if (self->sends_n > 0) {
        size_t last = (self->sends_head + self->sends_n - 1)
                    % (size_t) self->cfg.per_minute;
        if (self->sends [last] + self->cfg.interval_ms > at)
            at = self->sends [last] + self->cfg.interval_ms;
    }
    if (self->sends_n == (size_t) self->cfg.per_minute
    &&  self->sends [self->sends_head] + MINUTE_MS > at)
        at = self->sends [self->sends_head] + MINUTE_MS;
    return at;
}

static void
s_note_send (alert_queue_t *self, int64_t now)
{
    size_t size = (size_t) self->cfg.per_minute;
    if (self->sends_n < size)
        self->sends [(self->sends_head + self->sends_n++) % size] = now;
    else {
        self->sends [self->sends_head] = now;
        self->sends_head = (self->sends_head + 1) % size;
    }
}

int64_t
alert_queue_backoff (int64_t min_ms, int64_t max_ms, unsigned failures)
{
    int64_t delay = min_ms;
    for (unsigned i = 0; i < failures && delay < max_ms; i++)
        delay *= 2;
    return delay < max_ms ? delay : max_ms;
}

//  ---------------------------------------------------------------------
//  Sending

bool
alert_queue_take (alert_queue_t *self, int64_t now, const char *host,
                  hc_buf_t *text)
{
    if (self->inflight.alert || self->queue_n == 0 || s_ready_at (self) > now)
        return false;
    for (size_t i = 0; i < self->queue_n; i++) {
        if (self->queue [i].due > now)
            continue;
        self->inflight = self->queue [i];
        s_queue_remove (self, i);
        s_note_send (self, now);
        if (self->inflight.alert->key)
            s_recent_note (self, self->inflight.alert->key, now);
        self->inflight_dropped = self->dropped;
        alert_repeat_t repeat = {self->inflight.count, self->inflight.since,
                                 self->inflight.due, now, self->dropped};
        alert_render (self->inflight.alert, &repeat, host, text);
        return true;
    }
    return false;
}

int64_t
alert_queue_done (alert_queue_t *self, alert_outcome_t outcome,
                  int64_t retry_after_ms, int64_t now, size_t *dropped)
{
    *dropped = 0;
    if (!self->inflight.alert)
        return 0;
    if (outcome == ALERT_SENT || outcome == ALERT_FAILED) {
        if (outcome == ALERT_SENT)
            self->dropped -= self->inflight_dropped;
        self->failures = 0;
        alert_release (&self->inflight.alert);
        return 0;
    }
    int64_t delay = retry_after_ms > 0 ? retry_after_ms : 1;
    if (outcome == ALERT_RETRY)
        delay = alert_queue_backoff (self->cfg.backoff_min_ms,
                                     self->cfg.backoff_max_ms,
                                     self->failures++);
    self->blocked_until = now + delay;
    //  Back to the front, with any repeat that queued meanwhile merged in
    item_t item = self->inflight;
    self->inflight.alert = NULL;
    item_t *repeat = s_queued_repeat (self, item.alert);
    if (repeat) {
        item.count += repeat->count;
        alert_release (&repeat->alert);
        s_queue_remove (self, (size_t) (repeat - self->queue));
    }
    if (self->queue_n == self->cfg.queue_max) {
        alert_release (&item.alert);      //  it is the oldest
        self->dropped++;
        *dropped = 1;
        return delay;
    }
    memmove (&self->queue [1], &self->queue [0],
             self->queue_n * sizeof (item_t));
    self->queue [0] = item;
    self->queue_n++;
    return delay;
}

int64_t
alert_queue_next_at (alert_queue_t *self)
{
    if (self->inflight.alert || self->queue_n == 0)
        return -1;
    int64_t due = self->queue [0].due;
    for (size_t i = 1; i < self->queue_n; i++)
        if (self->queue [i].due < due)
            due = self->queue [i].due;
    int64_t ready = s_ready_at (self);
    return due > ready ? due : ready;
}

size_t
alert_queue_pending (alert_queue_t *self)
{
    return self->queue_n + (self->inflight.alert != NULL);
}

//  ---------------------------------------------------------------------
//  Self test, on a fake clock (the rules over several chats: alerts.c)

static alert_t *
s_alert (const char *event)
{
    msg_log_t record = {HC_LOG_ERROR, 0, HC_STR_LIT ("rooms"), hc_str (event),
                        NULL, 0};
    return alert_new (&record, HC_LOG_ERROR);
}

static size_t
s_push (alert_queue_t *queue, const char *event, int64_t now)
{
    alert_t *alert = s_alert (event);
    size_t dropped = alert_queue_push (queue, alert, now);
    alert_release (&alert);
    return dropped;
}

void
alert_queue_test (bool verbose)
{
    if (verbose)
        printf (" * alert_queue: ");
    assert (alert_queue_backoff (1000, 3000, 0) == 1000);
    assert (alert_queue_backoff (1000, 3000, 1) == 2000);
    assert (alert_queue_backoff (1000, 3000, 9) == 3000);

    alert_queue_cfg_t cfg = {1000, 2, 60000, 2, 1000, 3000};
    alert_queue_t *queue = alert_queue_new (&cfg, 7);
    assert (queue && alert_queue_chat (queue) == 7);
    hc_buf_t text;
    hc_buf_init (&text, 0);
    size_t dropped;
    assert (alert_queue_next_at (queue) == -1);
    //  Repeats merge while they wait
    assert (s_push (queue, "a", 0) == 0);
    assert (s_push (queue, "a", 5) == 0);
    assert (alert_queue_pending (queue) == 1
            && alert_queue_next_at (queue) == 0);
    assert (alert_queue_take (queue, 0, "box", &text));
    assert (strstr (hc_buf_cstr (&text), "\xc3\x97" "2"));
    assert (!alert_queue_take (queue, 0, "box", &text));       //  in flight
    assert (alert_queue_next_at (queue) == -1);
    //  A retryable failure puts it back, blocked for the backoff
    assert (alert_queue_done (queue, ALERT_RETRY, 0, 10, &dropped) == 1000
            && dropped == 0);
    assert (alert_queue_next_at (queue) == 1010);
    assert (!alert_queue_take (queue, 1009, "box", &text));
    assert (alert_queue_take (queue, 1010, "box", &text));
    assert (alert_queue_done (queue, ALERT_SENT, 0, 1010, &dropped) == 0);
    //  Two sends a minute: the third waits for the first to be 60 s old
    s_push (queue, "b", 2000);
    assert (alert_queue_next_at (queue) == 60000);
    //  Full (2): the oldest goes and the next text says so
    assert (s_push (queue, "c", 2000) == 0);
    assert (s_push (queue, "d", 2000) == 1);
    assert (alert_queue_take (queue, 60000, "box", &text));
    assert (strstr (hc_buf_cstr (&text), "<b>c</b>")
            && strstr (hc_buf_cstr (&text), "1 earlier alert"));
    //  A result with nothing in flight changes nothing
    alert_queue_done (queue, ALERT_FAILED, 0, 60000, &dropped);
    assert (alert_queue_done (queue, ALERT_SENT, 0, 60000, &dropped) == 0);
    assert (alert_queue_pending (queue) == 1);
    hc_buf_free (&text);
    alert_queue_destroy (&queue);
    alert_queue_destroy (&queue);
    if (verbose)
        printf ("OK\n");
}
