/*  msg_log.h - the record every actor publishes on the event bus

    Log records and events share one body, declared once as a key table
    (msg_log.c) that common/msg.c's encoder and decoder both walk.
*/
#ifndef MSG_LOG_H_INCLUDED
#define MSG_LOG_H_INCLUDED

#include "msg.h"

//  Any actor -> event bus: frame 0 is the topic ("log.info", ...), frame 1
//  a record (msg_log_t). Log records go under "log.<level>"; events go
//  under their own name ("conn.open", "relay.forwarded", ...) or, for
//  errors, "error.<name>", with the same body.
#define MSG_LOG_TOPIC "log."
#define MSG_ERROR_TOPIC "error."

typedef enum {
    HC_LOG_DEBUG = 0,
    HC_LOG_INFO,
    HC_LOG_WARN,
    HC_LOG_ERROR
} hc_log_level_t;

//  A structured log record. fields hold HC_V_STR and HC_V_INT values only.
typedef struct {
    hc_log_level_t level;
    int64_t time_us;            //  wall clock, microseconds since the epoch
    hc_str_t actor;             //  "gateway", "rooms", ...
    hc_str_t event;             //  dotted event name, e.g. "relay.forwarded"
    const hc_field_t *fields;
    size_t fields_n;
} msg_log_t;

MSG_KIND (log, msg_log_t)

const char *
    hc_log_level_name (hc_log_level_t level);

void
    msg_log_test (bool verbose);

#endif
