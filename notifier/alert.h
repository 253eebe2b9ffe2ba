/*  alert.h - one alert: what it says, the key that merges its repeats,
    and its text as Telegram HTML

    An alert is shared, counted, by the chats it waits for (alerts.c).
    Its text names the host, the actor and the event, with the record's
    fields as context, escaped for parse_mode HTML and cut to Telegram's
    4096 characters without splitting a character or an entity.
*/
#ifndef ALERT_H_INCLUDED
#define ALERT_H_INCLUDED

#include "../common/buf.h"
#include "../common/msg_log.h"

#define ALERT_TEXT_MAX 4096     //  Telegram's limit, in UTF-16 units

typedef struct {
    int refs;                   //  holders; alert_release frees at zero
    char *key;                  //  merge key; NULL for a ready-made text
    hc_log_level_t level;       //  severity
    char *actor;                //  who logged it
    char *event;                //  what happened
    char *context;              //  "key: value" lines, or the ready text
} alert_t;

//  How often it came, for the text's footer
typedef struct {
    uint32_t count;             //  occurrences merged into one message
    int64_t since;              //  the count covers (since, now]
    int64_t due;                //  it waited until then (repeats wait)
    int64_t now;                //  when the text is made
    uint64_t dropped;           //  alerts dropped before it, to report
} alert_repeat_t;

//  How a request to send an alert ended, as the Bot API driver saw it
typedef enum {
    ALERT_SENT,                 //  delivered
    ALERT_RETRY_AFTER,          //  429: wait retry_after_ms
    ALERT_RETRY,                //  5xx, network error, garbage: back off
    ALERT_FAILED                //  refused for good (other 4xx): dropped
} alert_outcome_t;

typedef enum {
    ALERT_NONE = 0,            //  not for the operator
    ALERT_ALONE,               //  an alert of its own
    ALERT_CLIENT_ERROR         //  counts towards a client error burst
} alert_class_t;

//  What the record means to the operator; *severity is the alert's level
alert_class_t
    alert_classify (const msg_log_t *record, hc_log_level_t *severity);

//  The text value of the record's field key, or HC_STR_NULL
hc_str_t
    alert_field (const msg_log_t *record, const char *key);
//  An alert for the record at severity, with one reference; NULL if out
//  of memory
alert_t *
    alert_new (const msg_log_t *record, hc_log_level_t severity);
//  A ready-made HTML message, never merged
alert_t *
    alert_new_text (const char *html);
//  Drops one reference (freeing the alert at the last) and NULLs *alert_p
void
    alert_release (alert_t **alert_p);
//  The whole message, replacing out's contents
void
    alert_render (const alert_t *alert, const alert_repeat_t *repeat,
                  const char *host, hc_buf_t *out);

void
    alert_test (bool verbose);

#endif
