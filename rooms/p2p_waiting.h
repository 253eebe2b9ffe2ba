/*  p2p_waiting.h - the p2p waiting list: calls that wait for a callee

    An OFFER to a callee that is not registered leaves an entry here (B8:
    only those), keyed by the callee's id, with the call frame the
    original stored; the callee's next ADD_USER takes it. An entry lives
    waiting_ttl_ms; expired entries are looked for every waiting_sweep_ms
    while the list is not empty. The list is bounded: past max_waiting
    entries a new callee is refused (the caller still gets its answer).
*/
#ifndef P2P_WAITING_H_INCLUDED
#define P2P_WAITING_H_INCLUDED

#include "p2p_cfg.h"
#include "p2p_users.h"

typedef struct _p2p_waiting_t p2p_waiting_t;

//  One waiting call
typedef struct {
    p2p_text_t callee;          //  key of the user it waits for
    p2p_text_t caller;          //  key of the calling user
    p2p_kept_t *frame;          //  members of its "call" frame, type aside
    int64_t expires;            //  monotonic ms
    bool cancel;                //  the caller hung up: tell "cancel" instead
} p2p_wait_t;

p2p_waiting_t *
    p2p_waiting_new (const p2p_calls_cfg_t *cfg);
void
    p2p_waiting_destroy (p2p_waiting_t **self_p);

//  The entry for callee, or NULL
p2p_wait_t *
    p2p_waiting_find (p2p_waiting_t *self, hc_str_t callee);
//  Stores (or replaces) the entry for callee, from caller, keeping a copy
//  of the frame's members; -1 when the list is full and callee has none
int
    p2p_waiting_add (p2p_waiting_t *self, hc_str_t callee, hc_str_t caller,
                     const p2p_frame_t *frame, int64_t now);
void
    p2p_waiting_remove (p2p_waiting_t *self, hc_str_t callee);
//  Marks the entry for callee, if it is caller's, as cancelled
void
    p2p_waiting_cancel (p2p_waiting_t *self, hc_str_t callee,
                        hc_str_t caller);
//  Removes every entry of caller but the one for keep (if given)
void
    p2p_waiting_drop_caller (p2p_waiting_t *self, hc_str_t caller,
                             hc_str_t keep);

//  When a sweep is due at now: takes the expired entries out of the list
//  and returns them (the caller destroys the list, and the entries with
//  it); NULL when no sweep is due
zlistx_t *
    p2p_waiting_sweep (p2p_waiting_t *self, int64_t now);
//  When the next sweep is due (monotonic ms), or -1 for an empty list
int64_t
    p2p_waiting_next_deadline (p2p_waiting_t *self);
size_t
    p2p_waiting_size (p2p_waiting_t *self);

void
    p2p_waiting_test (bool verbose);

#endif
