/*  p2p_state.h - what every p2p route works on: settings, time, tables

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
    int64_t waiting_ttl_ms;     //  life of a waiting-list entry
    int64_t waiting_sweep_ms;   //  how often expired entries are looked for
    int64_t reconnect_grace_ms; //  how long a dropped call waits for RECONNECT
    size_t max_users;           //  registered users
    size_t max_devices;         //  connections of one user
    size_t max_waiting;         //  waiting-list entries
} p2p_calls_cfg_t;

//  Monotonic time drives timers; wall time is only reported (addedAt)
typedef struct {
    int64_t mono_ms;
    int64_t wall_ms;
} p2p_now_t;

typedef struct {
    p2p_calls_cfg_t cfg;        //  timers and bounds
    p2p_users_t users;          //  users, records, pairs
    p2p_waiting_t *waiting;     //  calls that wait for a callee
    p2p_outbox_t *out;          //  frames go out here
    rooms_sink_t sink;          //  log records (and kicks) go out here
} p2p_state_t;

#endif
