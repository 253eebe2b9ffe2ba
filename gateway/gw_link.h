/*  gw_link.h - the gateway's view of its link to rooms

    The gateway says HELLO every LINK_HEARTBEAT and rooms answers WELCOME
    with its epoch, a number new at every start of rooms. The link is up
    from the first WELCOME until LINK_TIMEOUT passes without one. While it
    is down the gateway refuses clients. When it goes down, or rooms turns
    out to have restarted (a new epoch) or to have forgotten this gateway
    (a fresh WELCOME), every client connection is closed: rooms no longer
    holds their state, and a client that reconnects starts clean.

    Plain logic: the actor feeds it WELCOMEs and clock ticks.
*/
#ifndef GW_LINK_H_INCLUDED
#define GW_LINK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    GW_LINK_SAME,               //  nothing changed
    GW_LINK_UP,                 //  rooms answers (first time, or again)
    GW_LINK_RESTARTED,          //  rooms answers but forgot our clients
    GW_LINK_LOST                //  rooms has been silent for the timeout
} gw_link_change_t;

typedef struct {
    int64_t timeout_ms;         //  silence that ends the link
    uint64_t epoch;             //  rooms' epoch while up
    int64_t heard_at;           //  last WELCOME (monotonic ms)
    bool up;                    //  rooms answers
} gw_link_t;

void
    gw_link_init (gw_link_t *self, int64_t timeout_ms);
gw_link_change_t
    gw_link_welcome (gw_link_t *self, uint64_t epoch, bool fresh,
                     int64_t now);
gw_link_change_t
    gw_link_check (gw_link_t *self, int64_t now);

void
    gw_link_test (bool verbose);

#endif
