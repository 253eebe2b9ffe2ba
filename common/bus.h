/*  bus.h - the event bus: every actor publishes, anyone subscribes

    An XSUB socket takes what every actor's publisher sends (events-in); an
    XPUB socket hands it to the notifier and to any observer (events-out,
    and the observer endpoint). Subscriptions flow back upstream, so
    publishers only send what someone wants. A slow subscriber loses
    messages at the XPUB high-water mark; it never slows a publisher.

    Where rooms does not run, the same actor is a relay: it binds inproc for
    the local actors and connects its XPUB to the bus's events-in over tcp,
    passing the bus's subscriptions down and the local records up.

    Every message is checked before it is forwarded, since it may come
    over tcp: a topic and one record the codec accepts one way, one
    subscription the other way. Anything else is dropped and counted
    (bus.malformed, at most once a second).

    Usage (args is a const hc_config_t *):

        zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
        zstr_send (bus, "START");
        int rc;
        zsock_recv (bus, "i", &rc);         //  -1: could not bind
*/
#ifndef BUS_H_INCLUDED
#define BUS_H_INCLUDED

#include <czmq.h>

//  The notifier's probe (notifier.c): an empty body, let through as it is
#define HC_BUS_PROBE "sys.probe"

void
    hc_bus_actor (zsock_t *pipe, void *args);

void
    hc_bus_test (bool verbose);

#endif
