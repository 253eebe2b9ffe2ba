/*  endpoints.h - which actors run in this process, and where each socket
    binds or connects

    The same binary runs every actor in one process (everything inproc) or
    some of them, linked to the others over tcp:

    - The event bus runs in every process. Where rooms runs (or where
      EVENTS_IN_ENDPOINT is inproc) it is the bus: it binds the configured
      endpoints and the observer endpoint. Elsewhere it is a relay: it binds
      inproc for the local actors and connects to the bus over tcp, so that
      local actors publish the same way everywhere and a local notifier
      writes this process's own records.
    - Local actors always talk inproc. A tcp endpoint of a local socket gets
      an inproc alias (HC_ROOMS_LOCAL, ...) bound beside it.
*/
#ifndef ENDPOINTS_H_INCLUDED
#define ENDPOINTS_H_INCLUDED

#include "config.h"

#define HC_ACTOR_GATEWAY 1
#define HC_ACTOR_ROOMS 2
#define HC_ACTOR_NOTIFIER 4

#define HC_ROOMS_LOCAL "inproc://hc-rooms-local"
#define HC_EVENTS_IN_LOCAL "inproc://hc-events-in-local"
#define HC_EVENTS_OUT_LOCAL "inproc://hc-events-out-local"

//  Parses a list like "gateway,rooms" into HC_ACTOR_* bits; -1 if it names
//  an unknown actor, one twice, or none
int
    hc_actors_parse (const char *text, int *mask);
//  The actors of cfg (valid once hc_endpoints_check passed)
int
    hc_actors (const hc_config_t *cfg);
bool
    hc_endpoint_is_inproc (const char *endpoint);

//  Checks that the settings make a process that can work; -1 and a message
//  naming the setting otherwise
int
    hc_endpoints_check (const hc_config_t *cfg, char *err, size_t err_size);

//  True where the bus itself runs, false where a relay forwards to it
bool
    hc_endpoints_bus_central (const hc_config_t *cfg);
//  Where local actors connect their publishers (always inproc)
const char *
    hc_endpoint_publish (const hc_config_t *cfg);
//  Where the bus's XSUB and XPUB bind inproc for local actors
const char *
    hc_endpoint_bus_out_local (const hc_config_t *cfg);
//  Where the notifier subscribes
const char *
    hc_endpoint_subscribe (const hc_config_t *cfg);
//  Where the gateway connects to rooms
const char *
    hc_endpoint_rooms (const hc_config_t *cfg);
//  True if this process binds some tcp (or ipc) endpoint: it accepts links
bool
    hc_endpoints_accepts_links (const hc_config_t *cfg);
//  True if this process connects to some tcp (or ipc) endpoint
bool
    hc_endpoints_makes_links (const hc_config_t *cfg);

void
    hc_endpoints_test (bool verbose);

#endif
