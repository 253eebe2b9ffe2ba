/*  p2p_offer.h - OFFER and UPDATE_OFFER, and the waiting calls they leave

    A callee in another call makes the caller hear busy and changes
    nothing of either call (B6); a user cannot call itself. Candidates
    that were not reached wait for their next ADD_USER (B8: only those),
    and a waiting call that expires tells its caller decline (B1).
*/
#ifndef P2P_OFFER_H_INCLUDED
#define P2P_OFFER_H_INCLUDED

#include "p2p_state.h"

//  Routes: OFFER (an update when cmd->is_update), UPDATE_OFFER
void
    p2p_offer_call (p2p_state_t *state, const msg_p2p_t *cmd, p2p_now_t now);
void
    p2p_offer_update (p2p_state_t *state, const msg_p2p_t *cmd);

//  Sweeps the waiting list when that is due at now (monotonic ms)
void
    p2p_offer_expire (p2p_state_t *state, int64_t now);

#endif
