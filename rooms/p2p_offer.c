/*  p2p_offer.c - OFFER and UPDATE_OFFER, and the waiting calls they leave

    An OFFER rings the first candidate that is registered; the others wait
    for their next ADD_USER (p2p_waiting.h). A waiting call that expires
    tells its caller decline (B1).
*/
#include "p2p_offer.h"
#include "p2p_call.h"

//  Checks every route of the OFFER family makes first
static p2p_record_t *
s_offer_sender (p2p_state_t *state, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        p2p_outbox_error_echo (state->out, cmd, "userId is required", "OFFER");
        return NULL;
    }
    if (!p2p_user_find (&state->users, cmd->user_key)) {
        p2p_outbox_error_echo (
            state->out, cmd,
            "Cannot read properties of undefined (reading 'get')", "OFFER");
        return NULL;
    }
    p2p_record_t *record = p2p_record_own (&state->users, cmd->conn,
                                           cmd->user_key);
    if (!record)
        p2p_outbox_error_echo (state->out, cmd, "User not found", "OFFER");
    return record;
}

static void
s_update_offer (p2p_state_t *state, const msg_p2p_t *cmd,
                p2p_record_t *record)
{
    p2p_call_set_status (state, record, P2P_CALLING);
    const char *peer_key = p2p_pair_get (&state->users, cmd->user_key);
    p2p_user_t *peer = peer_key
                     ? p2p_user_find (&state->users, hc_str (peer_key))
                     : NULL;
    if (!peer) {
        p2p_outbox_error_echo (state->out, cmd, "Peer2 not found", "OFFER");
        return;
    }
    p2p_record_t *peer_active = p2p_user_active (peer);
    p2p_frame_t frame;
    if (peer_active && peer_active->status == P2P_ENDED) {
        p2p_frame_init (&frame, "busy");
        p2p_outbox_user (state->out, record->user, &frame);
        return;
    }
    p2p_frame_init (&frame, "updateOffer");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    p2p_outbox_user (state->out, peer, &frame);
    p2p_outbox_streams (state->out, peer, record);
}

void
p2p_offer_update (p2p_state_t *state, const msg_p2p_t *cmd)
{
    p2p_record_t *record = s_offer_sender (state, cmd);
    if (record)
        s_update_offer (state, cmd, record);
}

//  Is the callee already in a call with someone else? (B6, and the
//  original's test of a callee that was just hung up on)
static bool
s_callee_busy (const p2p_user_t *callee, hc_str_t caller_key)
{
    const p2p_record_t *active = p2p_user_active (callee);
    if (!active)
        return false;
    if (active->status == P2P_ENDED)
        return true;
    return p2p_call_in_progress (active)
        && !p2p_text_is (&active->partner, caller_key);
}

void
p2p_offer_call (p2p_state_t *state, const msg_p2p_t *cmd, p2p_now_t now)
{
    p2p_record_t *record = s_offer_sender (state, cmd);
    if (!record)
        return;
    if (cmd->is_update) {
        s_update_offer (state, cmd, record);
        return;
    }
    hc_str_t caller_key = cmd->user_key;
    //  Who to call, the caller itself left out
    hc_str_t callees [MSG_MAX_P2P_IDS];
    size_t callees_n = 0;
    bool self_call = false;
    for (size_t i = 0; i < cmd->callees_n; i++) {
        if (hc_str_eq (cmd->callees [i], caller_key))
            self_call = true;
        else
            callees [callees_n++] = cmd->callees [i];
    }
    if (callees_n == 0) {
        p2p_outbox_error_echo (state->out, cmd,
                               self_call ? "You cannot call yourself"
                                         : "candidates is required",
                               "OFFER");
        return;
    }
    p2p_user_t *callee = NULL;
    for (size_t i = 0; i < callees_n && !callee; i++)
        callee = p2p_user_find (&state->users, callees [i]);
    hc_str_t candidate_id = callee ? p2p_user_key (callee) : callees [0];

    p2p_frame_t frame;
    bool paired = p2p_pair_get (&state->users, caller_key) != NULL;
    if (paired || (callee && s_callee_busy (callee, caller_key))) {
        //  Nothing of either call changes (B6)
        p2p_frame_init (&frame, "busy");
        p2p_outbox_user (state->out, record->user, &frame);
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.call",
                  hc_field_str ("from", caller_key),
                  hc_field_str ("to", candidate_id),
                  hc_field_str ("result", HC_STR_LIT ("busy")));
        return;
    }
    p2p_call_set_status (state, record, P2P_CALLING);
    for (p2p_record_t *r = record->user->records; r; r = r->next)
        p2p_text_set (&r->partner, candidate_id);

    //  Candidates that were not reached wait for their next ADD_USER (B8:
    //  only those), with the call frame the original stored
    p2p_frame_t entry_frame;
    entry_frame.n = 0;
    p2p_frame_merge (&entry_frame, cmd->payload, cmd->payload_n);
    p2p_frame_set (&entry_frame, hc_field_raw ("userId", cmd->user_raw));
    hc_str_t name = hc_str_present (cmd->name) ? cmd->name
                                               : p2p_text (&record->name);
    if (hc_str_present (name))
        p2p_frame_set (&entry_frame, hc_field_raw ("name", name));
    if (!p2p_raw_falsy (p2p_text (&record->photo)))
        p2p_frame_set (&entry_frame, hc_field_raw ("photo",
                                                   p2p_text (&record->photo)));
    p2p_frame_set (&entry_frame, hc_field_raw ("candidates", cmd->user_raw));
    p2p_frame_set (&entry_frame, hc_field_raw ("device",
                                               p2p_text (&record->device)));
    p2p_frame_set (&entry_frame, hc_field_int ("addedAt", now.wall_ms));
    for (size_t i = 0; i < callees_n; i++) {
        if (callee && hc_str_eq (callees [i], p2p_user_key (callee)))
            continue;
        if (p2p_waiting_add (state->waiting, callees [i], caller_key,
                             &entry_frame, now.mono_ms))
            HC_EVENT (state->sink.log, HC_LOG_WARN, "p2p.waiting_full",
                      hc_field_str ("from", caller_key),
                      hc_field_str ("to", callees [i]));
    }
    if (!callee) {
        char message [P2P_KEY_MAX + 64];
        snprintf (message, sizeof (message),
                  "Target user %.*s not found or not available",
                  (int) candidate_id.len, candidate_id.ptr);
        p2p_outbox_error_echo (state->out, cmd, message, "OFFER");
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.call",
                  hc_field_str ("from", caller_key),
                  hc_field_str ("to", candidate_id),
                  hc_field_str ("result", HC_STR_LIT ("queued")));
        return;
    }
    for (p2p_record_t *r = callee->records; r; r = r->next)
        p2p_text_set (&r->partner, caller_key);
    //  The direct call: photo always, addedAt never (B15)
    p2p_frame_init (&frame, "call");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    p2p_frame_set (&frame, hc_field_raw ("userId", cmd->user_raw));
    if (hc_str_present (name))
        p2p_frame_set (&frame, hc_field_raw ("name", name));
    p2p_frame_set (&frame, hc_field_raw ("photo", p2p_text (&record->photo)));
    p2p_frame_set (&frame, hc_field_raw ("candidates", cmd->user_raw));
    p2p_frame_set (&frame, hc_field_raw ("device", p2p_text (&record->device)));
    p2p_outbox_user (state->out, callee, &frame);
    p2p_outbox_streams (state->out, callee, record);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.call",
              hc_field_str ("from", caller_key),
              hc_field_str ("to", candidate_id),
              hc_field_str ("result", HC_STR_LIT ("ringing")));
}

//  Expired waiting entries: the caller, if still calling that callee,
//  hears decline (B1); a cancelled entry just goes
void
p2p_offer_expire (p2p_state_t *state, int64_t now)
{
    zlistx_t *expired = p2p_waiting_sweep (state->waiting, now);
    if (!expired)
        return;
    for (p2p_wait_t *entry = (p2p_wait_t *) zlistx_first (expired); entry;
         entry = (p2p_wait_t *) zlistx_next (expired)) {
        hc_str_t callee = p2p_text (&entry->callee);
        p2p_user_t *caller = entry->cancel
                           ? NULL
                           : p2p_user_find (&state->users,
                                            p2p_text (&entry->caller));
        p2p_record_t *calling = caller ? p2p_user_active (caller) : NULL;
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.waiting_expired",
                  hc_field_str ("from", p2p_text (&entry->caller)),
                  hc_field_str ("to", callee));
        if (calling && calling->status == P2P_CALLING
        &&  p2p_text_is (&calling->partner, callee)) {
            p2p_frame_t frame;
            p2p_frame_init (&frame, "decline");
            p2p_outbox_user (state->out, caller, &frame);
            p2p_call_set_status (state, calling, P2P_ENDED);
        }
    }
    zlistx_destroy (&expired);
}
