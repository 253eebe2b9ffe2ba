/*  alerts.h - which log records become Telegram alerts, and when they go

    Plain logic on plain structs; the time is always passed in (milliseconds
    on a monotonic clock), so every rule is tested with a fake clock and the
    actor only asks "what may go now" and "when should I look again".

    - alert_classify (alert.h) says which records are for the operator; a
      burst of client errors (CLIENT_ERROR_BURST within the merge window)
      becomes one alert of its own ("client.errors").
    - Each chat has its own bounded queue (alert_queue.h): identical
      alerts (same level, actor, event and kind of problem: the record's
      why/reason/code/verb) merge into one message with a count; repeats
      within the merge window wait for its end; the chat's rate limits,
      429s and backoff hold only that chat. A full queue drops its oldest
      alert and the next message says how many were dropped.
    - The chats take turns: one that may send does not wait behind one
      that may not.
    - The text is HTML (parse_mode HTML): escaped, naming the host, the
      actor and the event, with the record's fields as context, cut to
      Telegram's 4096 characters.
*/
#ifndef ALERTS_H_INCLUDED
#define ALERTS_H_INCLUDED

#include "alert_queue.h"

#define ALERTS_CHATS_MAX 64     //  configured plus subscribed chats

typedef struct _alerts_t alerts_t;

typedef struct {
    hc_log_level_t min_level;   //  alerts less severe are not sent
    alert_queue_cfg_t chat;     //  each chat's limits; window_ms also
                                //  bounds a burst of client errors
    int64_t burst;              //  client errors per window that alert
    const char *host;           //  named in every message (copied)
} alerts_cfg_t;

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
    alerts_done (alerts_t *self, int64_t chat, alert_outcome_t outcome,
                 int64_t retry_after_ms, int64_t now);
//  When alerts_next may next have something (ms), or -1: nothing waits
//  (a message in flight wakes the caller when its request ends)
int64_t
    alerts_next_at (alerts_t *self);

//  Counters: chats, messages queued or in flight over all chats, alerts
//  dropped for a full queue since the start over all chats
size_t
    alerts_chats (alerts_t *self);
size_t
    alerts_pending (alerts_t *self);
uint64_t
    alerts_dropped (alerts_t *self);

void
    alerts_test (bool verbose);

#endif
