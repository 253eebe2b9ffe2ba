/*  gw_liveness.h - when a silent client is pinged, dropped or closed

    Plain decisions on a session and the loop's time (seconds), so the
    gateway's timers only walk the session table and act:

    - WebSocket liveness: a client idle for PING_INTERVAL gets a ping; one
      that sends nothing (not even the pong) for PING_TIMEOUT more is
      dropped. A dead peer cannot answer a close frame, so it is dropped
      without one.
    - The p2p dialect's own heartbeat (the original's): a connection that
      has not sent PING for P2P_HEARTBEAT_TIMEOUT is closed with 1000 "No
      ping received".
*/
#ifndef GW_LIVENESS_H_INCLUDED
#define GW_LIVENESS_H_INCLUDED

#include "gw_session.h"

typedef enum {
    GW_LIVE_OK,                 //  nothing to do
    GW_LIVE_PING,               //  send a ping
    GW_LIVE_DROP                //  drop it (timed_out is set)
} gw_live_t;

//  What the session's silence calls for at now; notes the decision in the
//  session, so that each is taken once
gw_live_t
    gw_liveness_check (gw_session_t *session, double now, double interval,
                       double timeout);
//  True when a p2p session has not sent PING for timeout seconds and is
//  not closing already
bool
    gw_liveness_heartbeat_lapsed (const gw_session_t *session, double now,
                                  double timeout);

void
    gw_liveness_test (bool verbose);

#endif
