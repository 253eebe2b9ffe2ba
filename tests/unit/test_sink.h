/*  test_sink.h - a rooms_sink_t that records what the logic does

    Deliveries are rendered to JSON with the gateway's own renderer, so a
    test compares exactly the text a client would receive.
*/
#ifndef TEST_SINK_H_INCLUDED
#define TEST_SINK_H_INCLUDED

#include "rooms/rooms_sink.h"

typedef struct {
    rooms_sink_t sink;          //  hand this to the logic
    zlistx_t *frames;           //  "CONN JSON" per recipient, in order
    zlistx_t *kicks;            //  "CONN CODE REASON"
    zlistx_t *logs;             //  "event key=value ..."
    bool verbose;               //  print as it goes
} test_sink_t;

test_sink_t *
    test_sink_new (bool verbose);
void
    test_sink_destroy (test_sink_t **self_p);
//  Pops the oldest frame; aborts unless it went to conn with this JSON
void
    test_sink_expect (test_sink_t *self, uint64_t conn, const char *json);
//  Pops the oldest kick; aborts unless it matches
void
    test_sink_expect_kick (test_sink_t *self, uint64_t conn, uint16_t code,
                           const char *reason);
//  Aborts if any frame or kick is waiting
void
    test_sink_expect_nothing (test_sink_t *self);
//  How many log lines contain every one of the given fragments (NULL-ended)
size_t
    test_sink_logged (test_sink_t *self, const char *fragment, ...);
void
    test_sink_clear_logs (test_sink_t *self);

#endif
