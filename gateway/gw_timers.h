/*  gw_timers.h - the gateway's periodic walks of its connections (libev
    timer callbacks; timer->data is the gw_self_t)
*/
#ifndef GW_TIMERS_H_INCLUDED
#define GW_TIMERS_H_INCLUDED

#include "gw_self.h"

//  gateway.stats
void
    gw_timers_stats (struct ev_loop *loop, ev_timer *timer, int revents);
//  Pings idle clients, drops silent ones
void
    gw_timers_liveness (struct ev_loop *loop, ev_timer *timer, int revents);
//  p2p: closes connections that stopped saying PING
void
    gw_timers_heartbeat (struct ev_loop *loop, ev_timer *timer, int revents);

#endif
