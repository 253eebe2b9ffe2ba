/*  gw_from_rooms.h - what rooms sends the gateway, and the link to it
    (gateway thread)
*/
#ifndef GW_FROM_ROOMS_H_INCLUDED
#define GW_FROM_ROOMS_H_INCLUDED

#include "gw_self.h"

//  One message from the rooms socket, which has one: its pairs in order
void
    gw_from_rooms_receive (gw_self_t *self);
//  HELLO (or BYE) to rooms, in this turn's batch
void
    gw_from_rooms_hello (gw_self_t *self, const char *verb);
//  The link timer: HELLO, and whether rooms still answers
void
    gw_from_rooms_link_tick (struct ev_loop *loop, ev_timer *timer,
                             int revents);

#endif
