/*  rooms.h - the actor that owns all signaling state

    A ROUTER socket takes commands from every gateway (DEALER) and sends
    deliveries back, addressed by the gateway routing id that each
    connection id encodes. The logic (sig_rooms, p2p_calls) is plain
    functions; this file is only the socket loop.

    Started as every actor is (bus.h shows the calls): zactor_new with a
    const hc_config_t * (copied by the actor), then START, which answers
    0, or -1 when the ROUTER could not bind.
*/
#ifndef ROOMS_H_INCLUDED
#define ROOMS_H_INCLUDED

#include <czmq.h>

void
    rooms_actor (zsock_t *pipe, void *args);

//  Self test (tests/unit/rooms_test.c): the actor and its ROUTER
void
    rooms_test (bool verbose);

//  The routing id of the gateway that owns a connection id
void
    rooms_gateway_routing_id (uint64_t conn, char id [16]);

#endif
