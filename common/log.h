/*  log.h - structured log records, published as messages on the event bus

    Every actor logs through one hc_log_t. A record is a level, the actor's
    name, a dotted event name and key/value fields; it is encoded once and
    published on the actor's PUB socket under the topic "log.<level>", where
    the notifier (and any observer) picks it up. Publishing never blocks: a
    record that cannot be sent at once is dropped and counted.

    The same record can also be an event: published, with the same body,
    under its own name as topic ("conn.open", "relay.forwarded"), or for
    errors under "error.<name>", so that observers filter by topic. Once an
    actor tracks its subscriptions (hc_log_track), nothing is encoded or
    sent under a topic nobody listens to.

    Tests can replace the socket with a hook that receives each record.
*/
#ifndef LOG_H_INCLUDED
#define LOG_H_INCLUDED

#include "events.h"
#include "msg_log.h"

#include <czmq.h>

typedef struct _hc_log_t hc_log_t;

//  An actor's publisher: an XPUB rather than a PUB, so that the actor can
//  see the bus's subscription arrive (hc_log_pub_wait) before it publishes
//  anything; a PUB would silently drop records sent before that moment.
zsock_t *
    hc_log_pub_new (const char *endpoint);
//  True once the bus has subscribed, false after timeout_ms without that
bool
    hc_log_pub_wait (zsock_t *pub, int timeout_ms);

typedef void (hc_log_hook_fn) (void *ctx, const msg_log_t *record);

//  pub is not owned and may be NULL (then records go to the hook only)
hc_log_t *
    hc_log_new (zsock_t *pub, const char *actor, hc_log_level_t min_level);
void
    hc_log_destroy (hc_log_t **self_p);
void
    hc_log_set_hook (hc_log_t *self, hc_log_hook_fn *hook, void *ctx);
bool
    hc_log_enabled (hc_log_t *self, hc_log_level_t level);
void
    hc_log_emit (hc_log_t *self, hc_log_level_t level, const char *event,
                 const hc_field_t *fields, size_t fields_n);
//  From now on, publishes only what the bus subscribed to; call
//  hc_log_read_subscriptions whenever the publisher socket is readable
void
    hc_log_track (hc_log_t *self);
void
    hc_log_read_subscriptions (hc_log_t *self);
//  Waits until the bus has subscribed to something (hc_log_pub_wait for a
//  tracking log, which may have read that subscription already)
bool
    hc_log_wait_subscribed (hc_log_t *self, int timeout_ms);
//  True if a record at level, or the event prefix+event, has a taker
bool
    hc_log_wants (hc_log_t *self, hc_log_level_t level, const char *prefix,
                  const char *event);
//  A log record that is also the event prefix+event (encoded once); a
//  NULL prefix makes it a log record only
void
    hc_log_publish (hc_log_t *self, hc_log_level_t level, const char *prefix,
                    const char *event, const hc_field_t *fields,
                    size_t fields_n);
//  Records that could not be published (send queue full)
uint64_t
    hc_log_dropped (hc_log_t *self);
//  Messages handed to the bus
uint64_t
    hc_log_sent (hc_log_t *self);
int64_t
    hc_log_now_us (void);

//  Logs a record with the given fields, evaluated only when the level is on:
//  HC_LOG (log, HC_LOG_INFO, "room.join", hc_field_str ("room", r), ...)
#define HC_LOG(log, level, event, ...)                                        \
    do {                                                                      \
        if (hc_log_enabled ((log), (level))) {                                \
            hc_field_t log_fields_ [] = {__VA_ARGS__};                        \
            hc_log_emit ((log), (level), (event), log_fields_,                \
                         sizeof (log_fields_) / sizeof (log_fields_ [0]));    \
        }                                                                     \
    } while (0)

#define HC_LOG0(log, level, event)                                            \
    do {                                                                      \
        if (hc_log_enabled ((log), (level)))                                  \
            hc_log_emit ((log), (level), (event), NULL, 0);                   \
    } while (0)

//  A log record that observers also get as the event named event:
//  HC_EVENT (log, HC_LOG_INFO, "call.status", hc_field_str ("to", s), ...)
#define HC_EVENT(log, level, event, ...)                                      \
    HC_PUBLISH_ ((log), (level), "", (event), __VA_ARGS__)
//  The same, as the event "error.<event>"
#define HC_EVENT_ERROR(log, level, event, ...)                                \
    HC_PUBLISH_ ((log), (level), MSG_ERROR_TOPIC, (event), __VA_ARGS__)

#define HC_PUBLISH_(log, level, prefix, event, ...)                           \
    do {                                                                      \
        if (hc_log_wants ((log), (level), (prefix), (event))) {               \
            hc_field_t log_fields_ [] = {__VA_ARGS__};                        \
            hc_log_publish ((log), (level), (prefix), (event), log_fields_,   \
                            sizeof (log_fields_) / sizeof (log_fields_ [0])); \
        }                                                                     \
    } while (0)

void
    hc_log_test (bool verbose);

#endif
