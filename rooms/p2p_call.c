/*  p2p_call.c - a call's state: each side's status, answering, ending */
#include "p2p_call.h"

void
p2p_call_set_status (p2p_state_t *state, p2p_record_t *record,
                     p2p_status_t status)
{
    if (record->status == status)
        return;
    char hex [17];
    hc_conn_hex (record->conn, hex);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "call.status",
              hc_field_str ("user", p2p_user_key (record->user)),
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("from", hc_str (p2p_status_name (record->status))),
              hc_field_str ("to", hc_str (p2p_status_name (status))));
    record->status = status;
}

bool
p2p_call_in_progress (const p2p_record_t *record)
{
    return record->status == P2P_CALLING || record->status == P2P_RINGING
        || record->status == P2P_IN_CALL;
}

//  DECLINE by a record: reject, cancel, hang up or acknowledge (reference
//  3.11), with B9: a call's partner links are cleared as it ends
void
p2p_call_end (p2p_state_t *state, p2p_record_t *me)
{
    p2p_user_t *my_user = me->user;
    char other_key [P2P_KEY_MAX + 1] = "";
    bool has_other = me->partner.ptr != NULL;
    if (has_other)
        snprintf (other_key, sizeof (other_key), "%s", me->partner.ptr);
    hc_str_t my_key = p2p_user_key (my_user);
    if (has_other) {
        //  An offline callee learns on registering that the call is off;
        //  the other candidates of that offer are forgotten (B8)
        p2p_waiting_cancel (state->waiting, hc_str (other_key), my_key);
        p2p_waiting_drop_caller (state->waiting, my_key, hc_str (other_key));
    }
    p2p_user_t *other = has_other
                      ? p2p_user_find (&state->users, hc_str (other_key))
                      : NULL;
    if (!other) {
        p2p_call_set_status (state, me, P2P_IDLE);
        p2p_text_set (&me->partner, HC_STR_NULL);
        p2p_outbox_cancel (state->out, my_user);
        p2p_pair_remove (&state->users, my_key);
        return;
    }
    p2p_record_t *other_active = p2p_user_active (other);
    if (!other_active)
        p2p_outbox_cancel (state->out, other);
    if (me->status == P2P_ENDED) {
        //  The acknowledgement of the other side's decline
        p2p_call_set_status (state, me, P2P_IDLE);
        p2p_text_set (&me->partner, HC_STR_NULL);
        return;
    }
    p2p_call_set_status (state, me, P2P_IDLE);
    if (!other_active || (other_active->status != P2P_IDLE
                          && other_active->status != P2P_ENDED)) {
        p2p_frame_t frame;
        p2p_frame_init (&frame, "decline");
        if (me->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name", p2p_text (&me->name)));
        p2p_outbox_user (state->out, other, &frame);
        if (other_active)
            p2p_call_set_status (state, other_active, P2P_ENDED);
    }
    p2p_outbox_cancel (state->out, my_user);
    p2p_pair_remove (&state->users, my_key);
    p2p_text_set (&me->partner, HC_STR_NULL);
    if (!other_active)
        //  It was ringing: nobody there will acknowledge, the call is over
        for (p2p_record_t *r = other->records; r; r = r->next)
            if (p2p_text_is (&r->partner, my_key))
                p2p_text_set (&r->partner, HC_STR_NULL);
}

//  ---------------------------------------------------------------------
//  Routes

//  {type, ...} to the user's active record, then its partner's; B3: a
//  failure is told to the requesting connection
static void
s_broadcast (p2p_state_t *state, const msg_p2p_t *cmd,
             const p2p_user_t *user, const p2p_user_t *partner,
             const char *type)
{
    p2p_record_t *mine = p2p_user_active (user);
    p2p_record_t *theirs = partner ? p2p_user_active (partner) : NULL;
    p2p_frame_t frame;
    p2p_frame_init (&frame, type);
    if (!mine) {
        p2p_outbox_error (state->out, cmd->conn, "First user was not found",
                          "broadcast", NULL, 0);
        return;
    }
    if (mine->conn)
        p2p_outbox_conn (state->out, mine->conn, &frame);
    if (!theirs) {
        p2p_outbox_error (state->out, cmd->conn, "Second user was not found",
                          "broadcast", NULL, 0);
        return;
    }
    if (theirs->conn)
        p2p_outbox_conn (state->out, theirs->conn, &frame);
}

void
p2p_call_answer (p2p_state_t *state, const msg_p2p_t *cmd)
{
    hc_field_t context [] = {hc_field_raw ("answer", cmd->answer)};
    if (!hc_str_present (cmd->user_key)) {
        p2p_outbox_error (state->out, cmd->conn, "userId not found", "ANSWER",
                          context, 1);
        return;
    }
    p2p_user_t *user = p2p_user_find (&state->users, cmd->user_key);
    if (!user) {
        p2p_outbox_error (state->out, cmd->conn, "User not found", "ANSWER",
                          context, 1);
        return;
    }
    p2p_record_t *record = p2p_record_own (&state->users, cmd->conn,
                                           cmd->user_key);
    if (!record) {
        p2p_outbox_error (state->out, cmd->conn,
                          "WebSocket not found in user session", "ANSWER",
                          context, 1);
        return;
    }
    if (!record->partner.ptr) {
        p2p_outbox_error (state->out, cmd->conn, "candidateId not found",
                          "ANSWER", context, 1);
        return;
    }
    p2p_user_t *caller = p2p_user_find (&state->users,
                                        p2p_text (&record->partner));
    if (!caller) {
        p2p_outbox_error (state->out, cmd->conn, "Peer1 not found", "ANSWER",
                          context, 1);
        return;
    }
    p2p_frame_t frame;
    if (cmd->is_update) {
        p2p_outbox_streams (state->out, caller, record);
        p2p_frame_init (&frame, "updateAnswer");
        if (hc_str_present (cmd->answer))
            p2p_frame_set (&frame, hc_field_raw ("answer", cmd->answer));
        p2p_outbox_user (state->out, caller, &frame);
        s_broadcast (state, cmd, user, caller, "updateIce");
        return;
    }
    p2p_outbox_streams (state->out, caller, record);
    p2p_call_set_status (state, record, P2P_RINGING);
    p2p_pair_set (&state->users, cmd->user_key, p2p_user_key (caller));
    p2p_frame_init (&frame, "acceptCall");
    if (hc_str_present (cmd->answer))
        p2p_frame_set (&frame, hc_field_raw ("answer", cmd->answer));
    p2p_frame_set (&frame, hc_field_raw ("device", p2p_text (&record->device)));
    p2p_outbox_user (state->out, caller, &frame);
    p2p_outbox_cancel (state->out, user);   //  the answerer's other devices
    s_broadcast (state, cmd, user, caller, "connect");
    //  Answered: nobody else waits for this call any more (B8)
    p2p_waiting_remove (state->waiting, cmd->user_key);
    p2p_waiting_drop_caller (state->waiting, p2p_user_key (caller),
                             HC_STR_NULL);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.answer",
              hc_field_str ("from", cmd->user_key),
              hc_field_str ("to", p2p_user_key (caller)));
}

void
p2p_call_decline (p2p_state_t *state, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        p2p_outbox_error (state->out, cmd->conn, "userId is required",
                          "DECLINE", NULL, 0);
        return;
    }
    if (!p2p_user_find (&state->users, cmd->user_key)) {
        p2p_outbox_error (state->out, cmd->conn, "Peer2 user not found",
                          "DECLINE", NULL, 0);
        return;
    }
    p2p_record_t *record = p2p_record_own (&state->users, cmd->conn,
                                           cmd->user_key);
    if (!record) {
        p2p_outbox_error (state->out, cmd->conn,
                          "Peer connection not found for ws", "DECLINE", NULL,
                          0);
        return;
    }
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.decline",
              hc_field_str ("from", cmd->user_key), hc_field_str ("status",
                            hc_str (p2p_status_name (record->status))));
    p2p_call_end (state, record);
}
