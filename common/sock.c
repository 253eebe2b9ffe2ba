/*  sock.c - small ZeroMQ socket helpers shared by the actors */
#include "sock.h"

bool
hc_sock_readable (zsock_t *sock, bool *terminated)
{
    int events = 0;
    size_t size = sizeof (events);
    if (zmq_getsockopt (zsock_resolve (sock), ZMQ_EVENTS, &events, &size)
        == -1) {
        *terminated = true;
        return false;
    }
    return (events & ZMQ_POLLIN) != 0;
}
