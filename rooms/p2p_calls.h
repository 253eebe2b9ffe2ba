/*  p2p_calls.h - the p2p dialect's state: users, devices, calls, waiting list

    Plain logic on plain structs, like sig_rooms: decoded commands and the
    time come in, frames and log records leave through the rooms_sink_t.

    Each route follows the original P2P backend (reference section 3) frame
    for frame, with docs/p2p.md's fixes: busy when the callee is in another
    call (B6), waiting entries only for callees not reached directly and
    cleared when the call is answered or declined (B8), expiry tells the
    caller (B1), partner links cleared when a call ends (B9), a close
    removes only that connection and keeps a call's session for a grace
    period that RECONNECT restores (B10, B11), RECONNECT keeps the stored
    device (B12), re-registering under another id drops the old record
    (B16), and a user cannot call itself.
*/
#ifndef P2P_CALLS_H_INCLUDED
#define P2P_CALLS_H_INCLUDED

#include "p2p_state.h"

typedef struct _p2p_calls_t p2p_calls_t;

p2p_calls_t *
    p2p_calls_new (const p2p_calls_cfg_t *cfg, const rooms_sink_t *sink);
void
    p2p_calls_destroy (p2p_calls_t **self_p);

//  A command from a p2p connection
void
    p2p_calls_command (p2p_calls_t *self, const msg_p2p_t *cmd,
                       p2p_now_t now);
//  The connection is gone
void
    p2p_calls_close (p2p_calls_t *self, uint64_t conn, p2p_now_t now);
//  Runs what is due: waiting-list expiry, reconnect grace expiry
void
    p2p_calls_tick (p2p_calls_t *self, p2p_now_t now);
//  When tick has something to do next (monotonic ms), or -1
int64_t
    p2p_calls_next_deadline (const p2p_calls_t *self);

//  Counters, for logs and tests (queries never change the state)
size_t
    p2p_calls_user_count (const p2p_calls_t *self);
size_t
    p2p_calls_waiting_count (const p2p_calls_t *self);
//  Users linked to a call partner (from ANSWER until the call ends)
size_t
    p2p_calls_linked_count (const p2p_calls_t *self);
//  Sessions of dropped connections waiting for RECONNECT
size_t
    p2p_calls_grace_count (const p2p_calls_t *self);

void
    p2p_calls_test (bool verbose);

#endif
