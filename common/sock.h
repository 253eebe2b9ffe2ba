/*  sock.h - small ZeroMQ socket helpers shared by the actors */
#ifndef SOCK_H_INCLUDED
#define SOCK_H_INCLUDED

#include <czmq.h>

//  True if sock has a whole message waiting. Reads ZMQ_EVENTS itself
//  because zsock_events hides a failure: when the context is terminating
//  getsockopt fails (ETERM), and then this sets *terminated and says no.
bool
    hc_sock_readable (zsock_t *sock, bool *terminated);

//  Reads one whole message without waiting. Its first `want` parts land in
//  parts (initialised here, closed by the caller with hc_sock_close_parts);
//  any further parts are read and dropped. Returns how many parts the
//  message had (0 if none was waiting), so anything but `want` is malformed.
int
    hc_sock_recv_parts (zsock_t *sock, zmq_msg_t *parts, int want);
void
    hc_sock_close_parts (zmq_msg_t *parts, int want);
//  The next two parts of a message of [verb][body] pairs (batch.h) into
//  pair (initialised by the caller, who closes them). Returns 2, with
//  *more if another pair follows in this message; 1 if the message ended
//  after one part; 0 if nothing was waiting.
int
    hc_sock_recv_pair (zsock_t *sock, zmq_msg_t pair [2], bool *more);

void
    hc_sock_test (bool verbose);

#endif
