/*  sock.h - small ZeroMQ socket helpers shared by the actors */
#ifndef SOCK_H_INCLUDED
#define SOCK_H_INCLUDED

#include <czmq.h>

//  True if sock has a whole message waiting. Reads ZMQ_EVENTS itself
//  because zsock_events hides a failure: when the context is terminating
//  getsockopt fails (ETERM), and then this sets *terminated and says no.
bool
    hc_sock_readable (zsock_t *sock, bool *terminated);

#endif
