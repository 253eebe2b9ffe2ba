/*  p2p_state.h - what every p2p route works on: settings and tables

    p2p_calls_t owns one p2p_state_t and hands each command to its route.
    The routes live by family, a file each: a connection's session
    (p2p_session.c: ADD_USER, RECONNECT, the reconnect grace), offers
    (p2p_offer.c), answering and ending calls (p2p_call.c), ICE and media
    (p2p_media.c).
*/
#ifndef P2P_STATE_H_INCLUDED
#define P2P_STATE_H_INCLUDED

#include "p2p_outbox.h"
#include "p2p_users.h"
#include "p2p_waiting.h"

typedef struct {
    p2p_calls_cfg_t cfg;        //  timers and bounds
    p2p_users_t users;          //  users, records, pairs
    p2p_waiting_t *waiting;     //  calls that wait for a callee
    p2p_outbox_t *out;          //  frames go out here
    rooms_sink_t sink;          //  log records (and kicks) go out here
} p2p_state_t;

#endif
