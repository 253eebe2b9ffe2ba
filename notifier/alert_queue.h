/*  alert_queue.h - one chat's alerts: merged while they wait, sent within
    the chat's limits, put back when a request fails

    The per-chat half of the rules in alerts.h. The queue is bounded: a
    full one drops its oldest alert, and the next message it sends says
    how many were dropped. Identical alerts (the same merge key) merge into
    one message with a count while they wait; one that repeats within the
    merge window after its message went out waits for the end of the
    window. One request at a time, at least interval_ms between two, at
    most per_minute in any 60 s; a 429 waits retry_after, a retryable
    failure backs off (backoff_min_ms, doubling, at most backoff_max_ms).
    Time is monotonic ms, always passed in.
*/
#ifndef ALERT_QUEUE_H_INCLUDED
#define ALERT_QUEUE_H_INCLUDED

#include "alert.h"

typedef struct _alert_queue_t alert_queue_t;

typedef struct {
    int64_t interval_ms;        //  least time between two messages
    int64_t per_minute;         //  messages in any 60 s (> 0)
    int64_t window_ms;          //  merge window
    size_t queue_max;           //  alerts waiting (> 0)
    int64_t backoff_min_ms;     //  first retry delay after a failure
    int64_t backoff_max_ms;     //  longest retry delay
} alert_queue_cfg_t;

//  The queue of chat; NULL if out of memory
alert_queue_t *
    alert_queue_new (const alert_queue_cfg_t *cfg, int64_t chat);
void
    alert_queue_destroy (alert_queue_t **self_p);
int64_t
    alert_queue_chat (alert_queue_t *self);

//  Queues the alert (taking a reference of its own), or counts it into a
//  waiting message with the same key. Returns the alerts dropped to make
//  room (0 or 1).
size_t
    alert_queue_push (alert_queue_t *self, alert_t *alert, int64_t now);
//  Puts the next message that may go by now in flight and renders its
//  text into text; false when none may go (or one is in flight already)
bool
    alert_queue_take (alert_queue_t *self, int64_t now, const char *host,
                      hc_buf_t *text);
//  The in-flight message ended so. Returns the delay before the next
//  attempt (0 unless it will be retried); *dropped gets the alerts lost
//  because the queue it went back to was full (0 or 1).
int64_t
    alert_queue_done (alert_queue_t *self, alert_outcome_t outcome,
                      int64_t retry_after_ms, int64_t now, size_t *dropped);
//  When alert_queue_take may next have something, or -1: nothing waits,
//  or a message is in flight (its end wakes the caller)
int64_t
    alert_queue_next_at (alert_queue_t *self);
//  Messages waiting or in flight
size_t
    alert_queue_pending (alert_queue_t *self);

//  The delay after failures consecutive failures: min_ms, doubling, at
//  most max_ms (the bot's getUpdates poll backs off the same way)
int64_t
    alert_queue_backoff (int64_t min_ms, int64_t max_ms, unsigned failures);

void
    alert_queue_test (bool verbose);

#endif
