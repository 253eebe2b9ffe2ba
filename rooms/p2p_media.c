/*  p2p_media.c - ICE, stream ids and media changes between two callers */
#include "p2p_media.h"
#include "p2p_call.h"

void
p2p_media_add_ice (p2p_state_t *state, const msg_p2p_t *cmd)
{
    p2p_record_t *record = p2p_record_find (&state->users, cmd->conn);
    if (!record) {
        hc_field_t context [] = {hc_field_raw ("iceParams", cmd->ice_params)};
        p2p_outbox_error (state->out, cmd->conn, "ws.userId is missing",
                          "ADD_ICE", context, 1);
        return;
    }
    p2p_text_set (&record->ice_params, hc_str_present (cmd->ice_params)
                                     ? cmd->ice_params : HC_STR_LIT ("[]"));
}

void
p2p_media_swap_ice (p2p_state_t *state, const msg_p2p_t *cmd)
{
    hc_field_t context [] = {hc_field_raw ("id", cmd->user_raw)};
    const char *error = NULL;
    p2p_record_t *me = NULL, *partner = NULL;
    if (!hc_str_present (cmd->user_key))
        error = "<b>userId</b> is required";
    else
    if (!(me = p2p_record_own (&state->users, cmd->conn, cmd->user_key)))
        error = "First user was not found";
    else
    if (!me->partner.ptr)
        error = "<b>userId</b> of the second user not found";
    else {
        p2p_user_t *other = p2p_user_find (&state->users,
                                           p2p_text (&me->partner));
        partner = other ? p2p_user_active (other) : NULL;
        if (!partner)
            error = "Second user was not found";
    }
    if (error) {
        p2p_outbox_error (state->out, cmd->conn, error, "SWAP_ICE", context, 1);
        return;
    }
    p2p_text_set (&me->candidate_ice, p2p_text (&partner->ice_params));
    p2p_text_set (&partner->candidate_ice, p2p_text (&me->ice_params));
    p2p_call_set_status (state, me, P2P_IN_CALL);
    p2p_frame_t frame;
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         p2p_text (&partner->ice_params)));
    p2p_outbox_user (state->out, me->user, &frame);
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         p2p_text (&me->ice_params)));
    p2p_outbox_user (state->out, partner->user, &frame);
}

void
p2p_media_set_stream (p2p_state_t *state, const msg_p2p_t *cmd)
{
    const char *error = NULL;
    p2p_record_t *record = NULL;
    if (!hc_str_present (cmd->user_key))
        error = "userId is required";
    else
    if (!hc_str_present (cmd->kind))
        error = "kind is required";
    else
    if (!hc_str_present (cmd->stream_id))
        error = "streamId is required";
    else
    if (!p2p_user_find (&state->users, cmd->user_key))
        error = "peer1 not found";
    else
    if (!(record = p2p_record_own (&state->users, cmd->conn, cmd->user_key)))
        error = "Cannot read properties of undefined (reading 'streamIds')";
    if (error) {
        p2p_outbox_error (state->out, cmd->conn, error, "SET_REMOTE_STREAM_ID",
                          NULL, 0);
        return;
    }
    size_t at;
    for (at = 0; at < record->streams_n; at++)
        if (p2p_text_is (&record->streams [at].kind, cmd->kind))
            break;
    if (at == P2P_STREAMS_MAX) {
        p2p_outbox_error (state->out, cmd->conn, "Too many stream kinds",
                          "SET_REMOTE_STREAM_ID", NULL, 0);
        return;
    }
    if (at == record->streams_n) {
        p2p_text_set (&record->streams [at].kind, cmd->kind);
        record->streams_n++;
    }
    p2p_text_set (&record->streams [at].id, cmd->stream_id);
}

void
p2p_media_update (p2p_state_t *state, const msg_p2p_t *cmd)
{
    p2p_record_t *record = p2p_record_find (&state->users, cmd->conn);
    if (!record) {
        p2p_outbox_error_echo (state->out, cmd, "userId is required",
                               "handleUpdateMedia");
        return;
    }
    //  The active record's partner, else the last record's (as the original)
    const p2p_record_t *source = p2p_user_active (record->user);
    if (!source)
        for (source = record->user->records; source->next;
             source = source->next)
            ;
    p2p_user_t *partner = source->partner.ptr
                        ? p2p_user_find (&state->users,
                                         p2p_text (&source->partner))
                        : NULL;
    if (!partner) {
        p2p_outbox_error_echo (state->out, cmd, "Candidate not found",
                               "handleUpdateMedia");
        return;
    }
    p2p_frame_t frame;
    p2p_frame_init (&frame, "updateMedia");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    p2p_outbox_user (state->out, partner, &frame);
}
