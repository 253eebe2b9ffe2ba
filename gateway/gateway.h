/*  gateway.h - the WebSocket actor

    The only code that speaks WebSocket and JSON. Runs libwebsockets on its
    own libev loop (epoll), which also watches the actor's ZeroMQ sockets.
    Client frames become msgpack commands for rooms; rooms' deliveries
    become JSON frames for clients.

    Usage (args is a const hc_config_t *, copied by the actor):

        zactor_t *gateway = zactor_new (gateway_actor, &cfg);
        zstr_send (gateway, "START");
        int port;
        zsock_recv (gateway, "i", &port);     //  -1: could not listen
        ...
        zactor_destroy (&gateway);            //  closes clients with 1001
*/
#ifndef GATEWAY_H_INCLUDED
#define GATEWAY_H_INCLUDED

#include <czmq.h>

void
    gateway_actor (zsock_t *pipe, void *args);

//  Self test (tests/unit/gateway_test.c): the actor and its sockets
void
    gateway_test (bool verbose);

#endif
