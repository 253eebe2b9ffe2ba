/*  link_monitor.h - handshakes refused on a socket that accepts links

    libzmq's socket monitor (through CZMQ's zmonitor) tells when a peer's
    handshake fails: a CURVE key zauth does not allow, a peer without
    CURVE (or with it where none is used), bytes that are not ZMTP at all.
    Each becomes a link.refused record (and error event), at most one a
    second per reason, with the count, so an operator sees who knocks
    without a flood of lines. libzmq gives the endpoint, not the peer's
    address.
*/
#ifndef LINK_MONITOR_H_INCLUDED
#define LINK_MONITOR_H_INCLUDED

#include "log.h"

#include <czmq.h>

typedef struct _hc_link_monitor_t hc_link_monitor_t;

//  Watches sock (zmonitor reads its events in a thread of its own); name
//  says which socket it is in the records ("rooms", "events-in", ...).
//  Destroy the monitor before the socket.
hc_link_monitor_t *
    hc_link_monitor_new (zsock_t *sock, const char *name, hc_log_t *log);
void
    hc_link_monitor_destroy (hc_link_monitor_t **self_p);
//  The socket to poll for events
zsock_t *
    hc_link_monitor_sock (hc_link_monitor_t *self);
//  Reads one event (the poll said there is one) and logs it
void
    hc_link_monitor_handle (hc_link_monitor_t *self);

//  The words for a failed handshake: kind is ZMQ_EVENT_HANDSHAKE_FAILED_*,
//  value the libzmq protocol error or ZAP status it came with
const char *
    hc_link_monitor_why (int kind, uint32_t value);

void
    hc_link_monitor_test (bool verbose);

#endif
