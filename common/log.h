/*  log.h - structured log records, published as messages on the event bus

    Every actor logs through one hc_log_t. A record is a level, the actor's
    name, a dotted event name and key/value fields; it is encoded once and
    published on the actor's PUB socket under the topic "log.<level>", where
    the notifier (and any observer) picks it up. Publishing never blocks: a
    record that cannot be sent at once is dropped and counted.

    Tests can replace the socket with a hook that receives each record.
*/
#ifndef LOG_H_INCLUDED
#define LOG_H_INCLUDED

#include "msg.h"

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
//  Records that could not be published (send queue full)
uint64_t
    hc_log_dropped (hc_log_t *self);
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

void
    hc_log_test (bool verbose);

#endif
