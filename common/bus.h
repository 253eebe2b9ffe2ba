/*  bus.h - the event bus: every actor publishes, anyone subscribes

    An XSUB socket takes what every actor's PUB sends (events-in); an XPUB
    socket hands it to the notifier and to any observer (events-out).
    Subscriptions flow back upstream, so publishers only send what someone
    wants. A slow subscriber loses messages at the XPUB high-water mark; it
    never slows a publisher.

    Usage (args is a const hc_config_t *):

        zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
        zstr_send (bus, "START");
        int rc;
        zsock_recv (bus, "i", &rc);         //  -1: could not bind
*/
#ifndef BUS_H_INCLUDED
#define BUS_H_INCLUDED

#include <czmq.h>

void
    hc_bus_actor (zsock_t *pipe, void *args);

void
    hc_bus_test (bool verbose);

#endif
