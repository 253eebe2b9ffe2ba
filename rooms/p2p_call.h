/*  p2p_call.h - a call's state: each side's status, answering, ending

    A record's status goes idle -> calling (OFFER) -> ringing (ANSWER) ->
    in_call (SWAP_ICE). Ending a call tells the other side decline and
    marks it ended until it acknowledges with a DECLINE of its own; the
    call's partner links are cleared as it ends (B9).
*/
#ifndef P2P_CALL_H_INCLUDED
#define P2P_CALL_H_INCLUDED

#include "p2p_state.h"

//  Every change of status leaves a call.status record
void
    p2p_call_set_status (p2p_state_t *state, p2p_record_t *record,
                         p2p_status_t status);
//  Calling, ringing or in a call
bool
    p2p_call_in_progress (const p2p_record_t *record);
//  The record's DECLINE: reject, cancel, hang up or acknowledge
//  (reference 3.11)
void
    p2p_call_end (p2p_state_t *state, p2p_record_t *record);

//  Routes: ANSWER (and UPDATE_ANSWER, cmd->is_update), DECLINE
void
    p2p_call_answer (p2p_state_t *state, const msg_p2p_t *cmd);
void
    p2p_call_decline (p2p_state_t *state, const msg_p2p_t *cmd);

#endif
