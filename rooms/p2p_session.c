/*  p2p_session.c - a connection's session: registered, kept for the
    reconnect grace, restored, ended

    A record whose connection closed during a call is kept detached (conn
    0) for the reconnect grace period: it still counts as the user's
    active record, frames for it are dropped, and RECONNECT moves it to
    the new connection.
*/
#include "p2p_session.h"
#include "p2p_call.h"

//  A record goes for good: a call it was in ends as if it had hung up
void
p2p_session_end (p2p_state_t *state, p2p_record_t *record)
{
    if (p2p_call_in_progress (record))
        p2p_call_end (state, record);
    p2p_record_remove (&state->users, record);
}

//  ---------------------------------------------------------------------
//  Routes

void
p2p_session_add_user (p2p_state_t *state, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        hc_field_t context [] = {hc_field_raw ("userId", cmd->user_raw),
                                 hc_field_raw ("name", cmd->name)};
        p2p_outbox_error (state->out, cmd->conn, "<b>userId</b> is required",
                          "ADD_USER", context, 2);
        return;
    }
    p2p_user_t *user = p2p_user_find (&state->users, cmd->user_key);
    if (!user && zhashx_size (state->users.users) >= state->cfg.max_users) {
        p2p_outbox_error (state->out, cmd->conn, "Too many users", "ADD_USER",
                          NULL, 0);
        return;
    }
    //  A fresh record: the connection's old one goes (B16), whatever id
    p2p_record_t *old = p2p_record_find (&state->users, cmd->conn);
    if (old) {
        bool last = old->user == user && user->records_n == 1;
        p2p_session_end (state, old);
        if (last)
            user = NULL;                //  the user went with its record
    }
    if (user && user->records_n >= state->cfg.max_devices) {
        p2p_outbox_error (state->out, cmd->conn,
                          "Too many connections for this user", "ADD_USER",
                          NULL, 0);
        return;
    }
    if (!user)
        user = p2p_user_add (&state->users, cmd->user_key);
    p2p_record_t *record = p2p_record_add (&state->users, user, cmd->conn);
    p2p_text_set (&record->name, cmd->name);
    p2p_text_set (&record->photo, hc_str_present (cmd->photo)
                                ? cmd->photo : HC_STR_LIT ("\"\""));
    p2p_text_set (&record->device, hc_str_present (cmd->device)
                                 ? cmd->device : HC_STR_LIT ("\"mobile\""));
    char hex [17];
    hc_conn_hex (cmd->conn, hex);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.register",
              hc_field_str ("user", cmd->user_key),
              hc_field_str ("conn", hc_str (hex)),
              hc_field_int ("devices", (int64_t) user->records_n));

    //  A call that waited for this user
    p2p_wait_t *entry = p2p_waiting_find (state->waiting, cmd->user_key);
    if (!entry)
        return;
    if (entry->cancel)
        p2p_outbox_cancel (state->out, user);
    else {
        for (p2p_record_t *r = user->records; r; r = r->next)
            p2p_text_set (&r->partner, p2p_text (&entry->caller));
        p2p_frame_t frame;
        p2p_frame_init (&frame, "call");
        size_t n;
        const hc_field_t *fields = p2p_kept_fields (entry->frame, &n);
        p2p_frame_merge (&frame, fields, n);
        p2p_outbox_user (state->out, user, &frame);
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.call",
                  hc_field_str ("from", p2p_text (&entry->caller)),
                  hc_field_str ("to", cmd->user_key),
                  hc_field_str ("result", HC_STR_LIT ("delivered")));
    }
    p2p_waiting_remove (state->waiting, cmd->user_key);
}

static void
s_reconnect_error (p2p_state_t *state, uint64_t conn, const char *error)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "reconnectError");
    p2p_frame_set (&frame, hc_field_str ("error", hc_str (error)));
    p2p_frame_set (&frame, hc_field_str ("suggestion",
                                         HC_STR_LIT ("Try ADD_USER instead")));
    p2p_outbox_conn (state->out, conn, &frame);
    char hex [17];
    hc_conn_hex (conn, hex);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.reconnect",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("result", HC_STR_LIT ("error")),
              hc_field_str ("error", hc_str (error)));
}

void
p2p_session_reconnect (p2p_state_t *state, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_reconnect_error (state, cmd->conn, "<b>userId</b> is required");
        return;
    }
    char message [P2P_KEY_MAX + 64];
    p2p_user_t *user = p2p_user_find (&state->users, cmd->user_key);
    if (!user) {
        snprintf (message, sizeof (message),
                  "No existing session found for user %.*s",
                  (int) cmd->user_key.len, cmd->user_key.ptr);
        s_reconnect_error (state, cmd->conn, message);
        return;
    }
    //  The session: a record in a call, or still linked to a partner
    p2p_record_t *session = NULL;
    for (p2p_record_t *r = user->records; r && !session; r = r->next)
        if (r->status != P2P_IDLE || r->partner.ptr)
            session = r;
    if (!session) {
        snprintf (message, sizeof (message),
                  "No active session found for user %.*s",
                  (int) cmd->user_key.len, cmd->user_key.ptr);
        s_reconnect_error (state, cmd->conn, message);
        return;
    }
    //  This connection's own record, if any, gives way (B16)
    p2p_record_t *mine = p2p_record_find (&state->users, cmd->conn);
    if (mine && mine != session)
        p2p_session_end (state, mine);
    //  The session moves here; a connection still holding it is closed (B11)
    uint64_t old_conn = session->conn;
    if (old_conn != cmd->conn) {
        p2p_record_move (&state->users, session, cmd->conn);
        if (old_conn)
            state->sink.kick (state->sink.ctx, old_conn, 1000,
                             "Session moved to another connection");
    }
    //  name || stored name (the gateway sends only truthy values); the
    //  stored device stays when none is given (B12)
    if (hc_str_present (cmd->name))
        p2p_text_set (&session->name, cmd->name);
    if (hc_str_present (cmd->photo))
        p2p_text_set (&session->photo, cmd->photo);
    if (hc_str_present (cmd->device))
        p2p_text_set (&session->device, cmd->device);

    hc_str_t status = hc_str (p2p_status_name (session->status));
    p2p_frame_t frame;
    p2p_frame_init (&frame, "reconnectSuccess");
    p2p_frame_set (&frame, hc_field_str ("status", status));
    if (session->partner.ptr)
        p2p_frame_set (&frame, hc_field_str ("candidate",
                                             p2p_text (&session->partner)));
    p2p_frame_set (&frame, hc_field_str ("message",
                                         HC_STR_LIT ("Session restored "
                                                     "successfully")));
    p2p_outbox_conn (state->out, cmd->conn, &frame);
    char hex [17];
    hc_conn_hex (cmd->conn, hex);
    HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.reconnect",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("user", cmd->user_key),
              hc_field_str ("result", HC_STR_LIT ("restored")),
              hc_field_str ("status", status));
    p2p_user_t *partner = session->partner.ptr
                        ? p2p_user_find (&state->users,
                                         p2p_text (&session->partner))
                        : NULL;
    if (partner) {
        p2p_frame_init (&frame, "peerReconnected");
        p2p_frame_set (&frame, hc_field_raw ("userId", cmd->user_raw));
        if (session->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name",
                                                 p2p_text (&session->name)));
        p2p_frame_set (&frame, hc_field_str ("status", status));
        p2p_outbox_user (state->out, partner, &frame);
    }
}

//  ---------------------------------------------------------------------
//  The reconnect grace

void
p2p_session_close (p2p_state_t *state, uint64_t conn, p2p_now_t now)
{
    p2p_record_t *record = p2p_record_find (&state->users, conn);
    if (!record)
        return;
    char hex [17];
    hc_conn_hex (conn, hex);
    if (p2p_call_in_progress (record) && state->cfg.reconnect_grace_ms > 0) {
        //  Kept for RECONNECT (B10); the partner hears nothing yet
        p2p_record_detach (&state->users, record,
                           now.mono_ms + state->cfg.reconnect_grace_ms);
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.grace",
                  hc_field_str ("user", p2p_user_key (record->user)),
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("grace_ms", state->cfg.reconnect_grace_ms));
        return;
    }
    HC_LOG (state->sink.log, HC_LOG_DEBUG, "p2p.unregister",
            hc_field_str ("user", p2p_user_key (record->user)),
            hc_field_str ("conn", hc_str (hex)));
    p2p_session_end (state, record);
}

//  Detached records whose grace is over end their call: the partner gets
//  decline, as if they had hung up (B10)
void
p2p_session_expire (p2p_state_t *state, int64_t now)
{
    zlistx_t *expired = p2p_records_expired (&state->users, now);
    for (p2p_record_t *r = (p2p_record_t *) zlistx_first (expired); r;
         r = (p2p_record_t *) zlistx_next (expired)) {
        HC_EVENT (state->sink.log, HC_LOG_INFO, "p2p.grace_expired",
                  hc_field_str ("user",
                                p2p_user_key (r->user)), hc_field_str ("status",
                                hc_str (p2p_status_name (r->status))));
        p2p_session_end (state, r);
    }
    zlistx_destroy (&expired);
}
