/*  alerts.h - which log records become Telegram alerts, and when they go

    Plain logic on plain structs; the time is always passed in (milliseconds
    on a monotonic clock), so every rule is tested with a fake clock and the
    actor only asks "what may go now" and "when should I look again".

    - alert_classify (alert.h) says which records are for the operator; a
      burst of client errors (CLIENT_ERROR_BURST within the merge window)
      becomes one alert of its own ("client.errors").
    - Each chat has its own bounded queue. Identical alerts (same level,
      actor, event and kind of problem: the record's why/reason/code/verb)
      merge into one message with a count while they wait; one that repeats
      within the merge window after a message went out waits for the end
      of the window and then goes out once with its count.
    - Per chat: one request at a time, at least interval_ms between two
      messages, at most per_minute in any 60 s; a 429 waits retry_after; a
      5xx or network error backs off (backoff_min_ms, doubling, at most
      backoff_max_ms). A full queue drops its oldest alert and the next
      message says how many were dropped.
    - The text is HTML (parse_mode HTML): escaped, naming the host, the
      actor and the event, with the record's fields as context, cut to
      Telegram's 4096 characters.
*/
#ifndef ALERTS_H_INCLUDED
#define ALERTS_H_INCLUDED

#include "alert.h"

#define ALERTS_CHATS_MAX 64     //  configured plus subscribed chats

typedef struct _alerts_t alerts_t;


typedef struct {
    hc_log_level_t min_level;   //  alerts less severe are not sent
    int64_t interval_ms;        //  least time between two messages to a chat
    int64_t per_minute;         //  messages to one chat in any 60 s
    int64_t window_ms;          //  merge window
    size_t queue_max;           //  alerts waiting per chat
    int64_t backoff_min_ms;     //  first retry delay after a failure
    int64_t backoff_max_ms;     //  longest retry delay
    int64_t burst;              //  client errors per window that alert
    const char *host;           //  named in every message (copied)
} alerts_cfg_t;

//  How a request ended, as the Bot API driver saw it
typedef enum {
    ALERTS_SENT,                //  delivered
    ALERTS_RETRY_AFTER,         //  429: wait retry_after_ms
    ALERTS_RETRY,               //  5xx, network error, garbage: back off
    ALERTS_FAILED               //  refused for good (other 4xx): dropped
} alerts_outcome_t;

alerts_t *
    alerts_new (const alerts_cfg_t *cfg);
void
    alerts_destroy (alerts_t **self_p);

//  Returns 0 when added, 1 when already there, -1 when the table is full
int
    alerts_add_chat (alerts_t *self, int64_t chat);
//  Forgets the chat and what waits for it; -1 if it was not there
int
    alerts_remove_chat (alerts_t *self, int64_t chat);
size_t
    alerts_chats (alerts_t *self);

//  Queues an alert for every chat (if severe enough)
void
    alerts_push (alerts_t *self, const msg_log_t *record,
                 hc_log_level_t severity, int64_t now);
//  Counts a client error; true when it completed a burst, which was
//  pushed as a "client.errors" alert of the record's actor
bool
    alerts_client_error (alerts_t *self, const msg_log_t *record,
                         int64_t now);
//  Queues a ready-made HTML message for one chat, never merged
void
    alerts_push_text (alerts_t *self, int64_t chat, const char *html,
                      int64_t now);

//  The next message that may go now: its chat and its text (replacing
//  text's contents). It stays in flight until alerts_done.
bool
    alerts_next (alerts_t *self, int64_t now, int64_t *chat, hc_buf_t *text);
//  The in-flight message of chat ended so; returns the delay before that
//  chat's next attempt (0 unless it will be retried)
int64_t
    alerts_done (alerts_t *self, int64_t chat, alerts_outcome_t outcome,
                 int64_t retry_after_ms, int64_t now);
//  The delay after failures consecutive failures: min_ms, doubling, at
//  most max_ms
int64_t
    alerts_backoff (int64_t min_ms, int64_t max_ms, unsigned failures);
//  When alerts_next may next have something (ms), or -1: nothing waits
//  (a message in flight wakes the caller when its request ends)
int64_t
    alerts_next_at (alerts_t *self);
//  Messages queued or in flight, over all chats
size_t
    alerts_pending (alerts_t *self);
//  Alerts dropped for a full queue since the start, over all chats
uint64_t
    alerts_dropped (alerts_t *self);

void
    alerts_test (bool verbose);

#endif
