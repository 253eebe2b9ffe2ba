/*  p2p_cfg.h - the p2p dialect's settings, and its clock

    rooms.c fills p2p_calls_cfg_t from the configuration (P2P_* settings,
    docs/configuration.md); every part of the dialect reads its bounds and
    timers from it.
*/
#ifndef P2P_CFG_H_INCLUDED
#define P2P_CFG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

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

#endif
