/*  rooms_sink.h - what the rooms logic can do to the outside world

    The logic never touches a socket: it calls these functions, which the
    actor implements with ZeroMQ messages and the tests with recorders.
*/
#ifndef ROOMS_SINK_H_INCLUDED
#define ROOMS_SINK_H_INCLUDED

#include "../common/log.h"
#include "../common/msg_rooms.h"

typedef struct {
    void *ctx;
    //  Send one JSON frame (described by fields) to each of conns
    void (*deliver) (void *ctx, const uint64_t *conns, size_t conns_n,
                     const hc_field_t *fields, size_t fields_n);
    //  Close a connection with a WebSocket close code and reason
    void (*kick) (void *ctx, uint64_t conn, uint16_t code, const char *reason);
    hc_log_t *log;              //  structured log records
} rooms_sink_t;

#endif
