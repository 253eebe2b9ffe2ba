/*  p2p_calls.c - the p2p dialect's state: users, devices, calls, waiting list

    The tables live in p2p_users.c. A record whose connection closed during
    a call is kept detached (conn 0) for the reconnect grace period: it
    still counts as the user's active record, frames for it are dropped,
    and RECONNECT moves it to the new connection.

    Delivery to a user follows the original's rule: its active record (the
    first that is not idle), or every connection when none is active, so
    all devices ring.
*/
#include "p2p_calls.h"
#include "p2p_users.h"

#include <assert.h>
#include <inttypes.h>

#define CONTEXT_MAX 16          //  members an error's context echoes
#define CONTEXT_VALUE_MAX 1024  //  bytes of one echoed value

struct _p2p_calls_t {
    p2p_calls_cfg_t cfg;        //  timers and bounds
    rooms_sink_t sink;          //  frames and log records go out here
    p2p_users_t tables;         //  users, records, pairs, waiting list
    int64_t next_sweep;         //  when the waiting list is swept next
    uint64_t *targets;          //  scratch: connections of one delivery
};

static void
s_set_status (p2p_calls_t *self, p2p_record_t *record, p2p_status_t status)
{
    if (record->status == status)
        return;
    char hex [17];
    hc_conn_hex (record->conn, hex);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "call.status",
              hc_field_str ("user", p2p_user_key (record->user)),
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("from", hc_str (p2p_status_name (record->status))),
              hc_field_str ("to", hc_str (p2p_status_name (status))));
    record->status = status;
}

//  ---------------------------------------------------------------------
//  Delivery

static void
s_send_conns (p2p_calls_t *self, const uint64_t *conns, size_t n,
              const p2p_frame_t *frame)
{
    if (n)
        self->sink.deliver (self->sink.ctx, conns, n, frame->fields, frame->n);
}

//  To the user's active record, or to every connection when none is active
static void
s_send_user (p2p_calls_t *self, const p2p_user_t *user, const p2p_frame_t *frame)
{
    size_t n = 0;
    p2p_record_t *active = p2p_user_active (user);
    if (active) {
        if (active->conn)
            self->targets [n++] = active->conn;
    }
    else
        for (p2p_record_t *r = user->records; r; r = r->next)
            if (r->conn && n < self->cfg.max_devices)
                self->targets [n++] = r->conn;
    if (n == 0)
        HC_LOG (self->sink.log, HC_LOG_DEBUG, "p2p.undelivered",
                hc_field_str ("user", p2p_user_key (user)),
                hc_field_str ("type", frame->fields [0].str));
    s_send_conns (self, self->targets, n, frame);
}

static void
s_send_conn (p2p_calls_t *self, uint64_t conn, const p2p_frame_t *frame)
{
    s_send_conns (self, &conn, 1, frame);
}

//  {"type":"cancel"} to every idle connection of the user
static void
s_send_cancel (p2p_calls_t *self, const p2p_user_t *user)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "cancel");
    size_t n = 0;
    for (p2p_record_t *r = user->records; r; r = r->next)
        if (r->conn && r->status == P2P_IDLE && n < self->cfg.max_devices)
            self->targets [n++] = r->conn;
    s_send_conns (self, self->targets, n, &frame);
}

//  {"type":"error","message":M,"handler":H,"context":{...}}, to the one
//  connection that asked; the context echoes at most a bounded part
static void
s_error (p2p_calls_t *self, uint64_t conn, const char *message,
         const char *handler, const hc_field_t *context, size_t context_n)
{
    hc_field_t bounded [CONTEXT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < context_n && n < CONTEXT_MAX; i++)
        if (hc_str_present (context [i].str)
        &&  context [i].str.len <= CONTEXT_VALUE_MAX)
            bounded [n++] = context [i];
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("error")),
        hc_field_str ("message", hc_str (message)),
        hc_field_str ("handler", hc_str (handler)),
        hc_field_obj ("context", bounded, n),
    };
    self->sink.deliver (self->sink.ctx, &conn, 1, fields, 4);
    char hex [17];
    hc_conn_hex (conn, hex);
    HC_EVENT_ERROR (self->sink.log, HC_LOG_INFO, "p2p.error",
                    hc_field_str ("conn", hc_str (hex)),
                    hc_field_str ("handler", hc_str (handler)),
                    hc_field_str ("message", hc_str (message)));
}

static void
s_error_payload (p2p_calls_t *self, const msg_p2p_t *cmd, const char *message,
                 const char *handler)
{
    s_error (self, cmd->conn, message, handler, cmd->payload, cmd->payload_n);
}

//  {"type":"remoteStreamsId","streamIds":{kind: id, ...}}
static void
s_send_streams (p2p_calls_t *self, const p2p_user_t *to, const p2p_record_t *from)
{
    hc_field_t ids [P2P_STREAMS_MAX];
    for (size_t i = 0; i < from->streams_n; i++)
        ids [i] = (hc_field_t){.key = p2p_text (&from->streams [i].kind),
                               .type = HC_V_RAW,
                               .str = p2p_text (&from->streams [i].id)};
    p2p_frame_t frame;
    p2p_frame_init (&frame, "remoteStreamsId");
    p2p_frame_set (&frame, hc_field_obj ("streamIds", ids, from->streams_n));
    s_send_user (self, to, &frame);
}

//  ---------------------------------------------------------------------
//  Ending calls

//  DECLINE by a record: reject, cancel, hang up or acknowledge (reference
//  3.11), with B9: a call's partner links are cleared as it ends
static void
s_decline (p2p_calls_t *self, p2p_record_t *me)
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
        p2p_wait_t *entry = p2p_wait_find (&self->tables, hc_str (other_key));
        if (entry && p2p_text_is (&entry->caller, my_key))
            entry->cancel = true;
        p2p_wait_drop_caller (&self->tables, my_key, hc_str (other_key));
    }
    p2p_user_t *other = has_other ? p2p_user_find (&self->tables, hc_str (other_key)) : NULL;
    if (!other) {
        s_set_status (self, me, P2P_IDLE);
        p2p_text_set (&me->partner, HC_STR_NULL);
        s_send_cancel (self, my_user);
        p2p_pair_remove (&self->tables, my_key);
        return;
    }
    p2p_record_t *other_active = p2p_user_active (other);
    if (!other_active)
        s_send_cancel (self, other);
    if (me->status == P2P_ENDED) {
        //  The acknowledgement of the other side's decline
        s_set_status (self, me, P2P_IDLE);
        p2p_text_set (&me->partner, HC_STR_NULL);
        return;
    }
    s_set_status (self, me, P2P_IDLE);
    if (!other_active || (other_active->status != P2P_IDLE
                          && other_active->status != P2P_ENDED)) {
        p2p_frame_t frame;
        p2p_frame_init (&frame, "decline");
        if (me->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name", p2p_text (&me->name)));
        s_send_user (self, other, &frame);
        if (other_active)
            s_set_status (self, other_active, P2P_ENDED);
    }
    s_send_cancel (self, my_user);
    p2p_pair_remove (&self->tables, my_key);
    p2p_text_set (&me->partner, HC_STR_NULL);
    if (!other_active)
        //  It was ringing: nobody there will acknowledge, the call is over
        for (p2p_record_t *r = other->records; r; r = r->next)
            if (p2p_text_is (&r->partner, my_key))
                p2p_text_set (&r->partner, HC_STR_NULL);
}

static bool
s_in_call (const p2p_record_t *record)
{
    return record->status == P2P_CALLING || record->status == P2P_RINGING
        || record->status == P2P_IN_CALL;
}

//  A record goes for good: a call it was in ends as if it had hung up
static void
s_record_end (p2p_calls_t *self, p2p_record_t *record)
{
    if (s_in_call (record))
        s_decline (self, record);
    p2p_record_remove (&self->tables, record);
}

//  ---------------------------------------------------------------------
//  Routes

//  The record of the connection, when it registered under the command's id
static p2p_record_t *
s_own_record (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    p2p_record_t *record = p2p_record_find (&self->tables, cmd->conn);
    if (record && hc_str_present (cmd->user_key)
    &&  hc_str_eq (p2p_user_key (record->user), cmd->user_key))
        return record;
    return NULL;
}

static void
s_add_user (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        hc_field_t context [] = {hc_field_raw ("userId", cmd->user_raw),
                                 hc_field_raw ("name", cmd->name)};
        s_error (self, cmd->conn, "<b>userId</b> is required", "ADD_USER",
                 context, 2);
        return;
    }
    p2p_user_t *user = p2p_user_find (&self->tables, cmd->user_key);
    if (!user && zhashx_size (self->tables.users) >= self->cfg.max_users) {
        s_error (self, cmd->conn, "Too many users", "ADD_USER", NULL, 0);
        return;
    }
    //  A fresh record: the connection's old one goes (B16), whatever id
    p2p_record_t *old = p2p_record_find (&self->tables, cmd->conn);
    if (old) {
        bool last = old->user == user && user->records_n == 1;
        s_record_end (self, old);
        if (last)
            user = NULL;                //  the user went with its record
    }
    if (user && user->records_n >= self->cfg.max_devices) {
        s_error (self, cmd->conn, "Too many connections for this user",
                 "ADD_USER", NULL, 0);
        return;
    }
    if (!user)
        user = p2p_user_add (&self->tables, cmd->user_key);
    p2p_record_t *record = p2p_record_add (&self->tables, user, cmd->conn);
    p2p_text_set (&record->name, cmd->name);
    p2p_text_set (&record->photo, hc_str_present (cmd->photo) ? cmd->photo
                                                            : HC_STR_LIT ("\"\""));
    p2p_text_set (&record->device, hc_str_present (cmd->device)
                                 ? cmd->device : HC_STR_LIT ("\"mobile\""));
    char hex [17];
    hc_conn_hex (cmd->conn, hex);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.register",
              hc_field_str ("user", cmd->user_key),
              hc_field_str ("conn", hc_str (hex)),
              hc_field_int ("devices", (int64_t) user->records_n));

    //  A call that waited for this user
    p2p_wait_t *entry = p2p_wait_find (&self->tables, cmd->user_key);
    if (!entry)
        return;
    if (entry->cancel)
        s_send_cancel (self, user);
    else {
        for (p2p_record_t *r = user->records; r; r = r->next)
            p2p_text_set (&r->partner, p2p_text (&entry->caller));
        p2p_frame_t frame;
        p2p_frame_init (&frame, "call");
        size_t n;
        const hc_field_t *fields = p2p_kept_fields (entry->frame, &n);
        p2p_frame_merge (&frame, fields, n);
        s_send_user (self, user, &frame);
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.call",
                  hc_field_str ("from", p2p_text (&entry->caller)),
                  hc_field_str ("to", cmd->user_key),
                  hc_field_str ("result", HC_STR_LIT ("delivered")));
    }
    p2p_wait_remove (&self->tables, cmd->user_key);
}

static void
s_reconnect_error (p2p_calls_t *self, uint64_t conn, const char *error)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "reconnectError");
    p2p_frame_set (&frame, hc_field_str ("error", hc_str (error)));
    p2p_frame_set (&frame, hc_field_str ("suggestion",
                                         HC_STR_LIT ("Try ADD_USER instead")));
    s_send_conn (self, conn, &frame);
    char hex [17];
    hc_conn_hex (conn, hex);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.reconnect",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("result", HC_STR_LIT ("error")),
              hc_field_str ("error", hc_str (error)));
}

static void
s_reconnect (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_reconnect_error (self, cmd->conn, "<b>userId</b> is required");
        return;
    }
    char message [P2P_KEY_MAX + 64];
    p2p_user_t *user = p2p_user_find (&self->tables, cmd->user_key);
    if (!user) {
        snprintf (message, sizeof (message),
                  "No existing session found for user %.*s",
                  (int) cmd->user_key.len, cmd->user_key.ptr);
        s_reconnect_error (self, cmd->conn, message);
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
        s_reconnect_error (self, cmd->conn, message);
        return;
    }
    //  This connection's own record, if any, gives way (B16)
    p2p_record_t *mine = p2p_record_find (&self->tables, cmd->conn);
    if (mine && mine != session)
        s_record_end (self, mine);
    //  The session moves here; a connection still holding it is closed (B11)
    uint64_t old_conn = session->conn;
    if (old_conn != cmd->conn) {
        p2p_record_move (&self->tables, session, cmd->conn);
        if (old_conn)
            self->sink.kick (self->sink.ctx, old_conn, 1000,
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
    s_send_conn (self, cmd->conn, &frame);
    char hex [17];
    hc_conn_hex (cmd->conn, hex);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.reconnect",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("user", cmd->user_key),
              hc_field_str ("result", HC_STR_LIT ("restored")),
              hc_field_str ("status", status));
    p2p_user_t *partner = session->partner.ptr
                    ? p2p_user_find (&self->tables, p2p_text (&session->partner)) : NULL;
    if (partner) {
        p2p_frame_init (&frame, "peerReconnected");
        p2p_frame_set (&frame, hc_field_raw ("userId", cmd->user_raw));
        if (session->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name",
                                                 p2p_text (&session->name)));
        p2p_frame_set (&frame, hc_field_str ("status", status));
        s_send_user (self, partner, &frame);
    }
}

//  Checks every route of the OFFER family makes first
static p2p_record_t *
s_offer_sender (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_error_payload (self, cmd, "userId is required", "OFFER");
        return NULL;
    }
    if (!p2p_user_find (&self->tables, cmd->user_key)) {
        s_error_payload (self, cmd,
                         "Cannot read properties of undefined (reading 'get')",
                         "OFFER");
        return NULL;
    }
    p2p_record_t *record = s_own_record (self, cmd);
    if (!record)
        s_error_payload (self, cmd, "User not found", "OFFER");
    return record;
}

static void
s_update_offer (p2p_calls_t *self, const msg_p2p_t *cmd, p2p_record_t *record)
{
    s_set_status (self, record, P2P_CALLING);
    const char *peer_key = p2p_pair_get (&self->tables, cmd->user_key);
    p2p_user_t *peer = peer_key ? p2p_user_find (&self->tables, hc_str (peer_key)) : NULL;
    if (!peer) {
        s_error_payload (self, cmd, "Peer2 not found", "OFFER");
        return;
    }
    p2p_record_t *peer_active = p2p_user_active (peer);
    p2p_frame_t frame;
    if (peer_active && peer_active->status == P2P_ENDED) {
        p2p_frame_init (&frame, "busy");
        s_send_user (self, record->user, &frame);
        return;
    }
    p2p_frame_init (&frame, "updateOffer");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    s_send_user (self, peer, &frame);
    s_send_streams (self, peer, record);
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
    return s_in_call (active) && !p2p_text_is (&active->partner, caller_key);
}

static void
s_offer (p2p_calls_t *self, const msg_p2p_t *cmd, p2p_now_t now)
{
    p2p_record_t *record = s_offer_sender (self, cmd);
    if (!record)
        return;
    if (cmd->is_update) {
        s_update_offer (self, cmd, record);
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
        s_error_payload (self, cmd, self_call ? "You cannot call yourself"
                                              : "candidates is required",
                         "OFFER");
        return;
    }
    p2p_user_t *callee = NULL;
    for (size_t i = 0; i < callees_n && !callee; i++)
        callee = p2p_user_find (&self->tables, callees [i]);
    hc_str_t candidate_id = callee ? p2p_user_key (callee) : callees [0];

    p2p_frame_t frame;
    bool paired = p2p_pair_get (&self->tables, caller_key) != NULL;
    if (paired || (callee && s_callee_busy (callee, caller_key))) {
        //  Nothing of either call changes (B6)
        p2p_frame_init (&frame, "busy");
        s_send_user (self, record->user, &frame);
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.call",
                  hc_field_str ("from", caller_key),
                  hc_field_str ("to", candidate_id),
                  hc_field_str ("result", HC_STR_LIT ("busy")));
        return;
    }
    s_set_status (self, record, P2P_CALLING);
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
        if (!p2p_wait_find (&self->tables, callees [i])
        &&  zhashx_size (self->tables.waiting) >= self->cfg.max_waiting) {
            HC_EVENT (self->sink.log, HC_LOG_WARN, "p2p.waiting_full",
                      hc_field_str ("from", caller_key),
                      hc_field_str ("to", callees [i]));
            continue;
        }
        p2p_wait_t *entry = (p2p_wait_t *) calloc (1, sizeof (p2p_wait_t));
        assert (entry);
        p2p_text_set (&entry->caller, caller_key);
        entry->frame = p2p_kept_new (entry_frame.fields, entry_frame.n);
        entry->expires = now.mono_ms + self->cfg.waiting_ttl_ms;
        p2p_wait_put (&self->tables, callees [i], entry);
        if (self->next_sweep == 0)
            self->next_sweep = now.mono_ms + self->cfg.waiting_sweep_ms;
    }
    if (!callee) {
        char message [P2P_KEY_MAX + 64];
        snprintf (message, sizeof (message),
                  "Target user %.*s not found or not available",
                  (int) candidate_id.len, candidate_id.ptr);
        s_error_payload (self, cmd, message, "OFFER");
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.call",
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
    s_send_user (self, callee, &frame);
    s_send_streams (self, callee, record);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.call",
              hc_field_str ("from", caller_key),
              hc_field_str ("to", candidate_id),
              hc_field_str ("result", HC_STR_LIT ("ringing")));
}

//  {type, ...} to the user's active record, then its partner's; B3: a
//  failure is told to the requesting connection
static void
s_broadcast (p2p_calls_t *self, const msg_p2p_t *cmd, const p2p_user_t *user,
             const p2p_user_t *partner, const char *type)
{
    p2p_record_t *mine = p2p_user_active (user);
    p2p_record_t *theirs = partner ? p2p_user_active (partner) : NULL;
    p2p_frame_t frame;
    p2p_frame_init (&frame, type);
    if (!mine) {
        s_error (self, cmd->conn, "First user was not found", "broadcast",
                 NULL, 0);
        return;
    }
    if (mine->conn)
        s_send_conn (self, mine->conn, &frame);
    if (!theirs) {
        s_error (self, cmd->conn, "Second user was not found", "broadcast",
                 NULL, 0);
        return;
    }
    if (theirs->conn)
        s_send_conn (self, theirs->conn, &frame);
}

static void
s_answer (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    hc_field_t context [] = {hc_field_raw ("answer", cmd->answer)};
    if (!hc_str_present (cmd->user_key)) {
        s_error (self, cmd->conn, "userId not found", "ANSWER", context, 1);
        return;
    }
    p2p_user_t *user = p2p_user_find (&self->tables, cmd->user_key);
    if (!user) {
        s_error (self, cmd->conn, "User not found", "ANSWER", context, 1);
        return;
    }
    p2p_record_t *record = s_own_record (self, cmd);
    if (!record) {
        s_error (self, cmd->conn, "WebSocket not found in user session",
                 "ANSWER", context, 1);
        return;
    }
    if (!record->partner.ptr) {
        s_error (self, cmd->conn, "candidateId not found", "ANSWER", context,
                 1);
        return;
    }
    p2p_user_t *caller = p2p_user_find (&self->tables, p2p_text (&record->partner));
    if (!caller) {
        s_error (self, cmd->conn, "Peer1 not found", "ANSWER", context, 1);
        return;
    }
    p2p_frame_t frame;
    if (cmd->is_update) {
        s_send_streams (self, caller, record);
        p2p_frame_init (&frame, "updateAnswer");
        if (hc_str_present (cmd->answer))
            p2p_frame_set (&frame, hc_field_raw ("answer", cmd->answer));
        s_send_user (self, caller, &frame);
        s_broadcast (self, cmd, user, caller, "updateIce");
        return;
    }
    s_send_streams (self, caller, record);
    s_set_status (self, record, P2P_RINGING);
    p2p_pair_set (&self->tables, cmd->user_key, p2p_user_key (caller));
    p2p_frame_init (&frame, "acceptCall");
    if (hc_str_present (cmd->answer))
        p2p_frame_set (&frame, hc_field_raw ("answer", cmd->answer));
    p2p_frame_set (&frame, hc_field_raw ("device", p2p_text (&record->device)));
    s_send_user (self, caller, &frame);
    s_send_cancel (self, user);         //  the answerer's other devices
    s_broadcast (self, cmd, user, caller, "connect");
    //  Answered: nobody else waits for this call any more (B8)
    p2p_wait_remove (&self->tables, cmd->user_key);
    p2p_wait_drop_caller (&self->tables, p2p_user_key (caller), HC_STR_NULL);
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.answer",
              hc_field_str ("from", cmd->user_key),
              hc_field_str ("to", p2p_user_key (caller)));
}

static void
s_decline_route (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_error (self, cmd->conn, "userId is required", "DECLINE", NULL, 0);
        return;
    }
    if (!p2p_user_find (&self->tables, cmd->user_key)) {
        s_error (self, cmd->conn, "Peer2 user not found", "DECLINE", NULL, 0);
        return;
    }
    p2p_record_t *record = s_own_record (self, cmd);
    if (!record) {
        s_error (self, cmd->conn, "Peer connection not found for ws",
                 "DECLINE", NULL, 0);
        return;
    }
    HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.decline",
              hc_field_str ("from", cmd->user_key),
              hc_field_str ("status", hc_str (p2p_status_name (record->status))));
    s_decline (self, record);
}

static void
s_add_ice (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    p2p_record_t *record = p2p_record_find (&self->tables, cmd->conn);
    if (!record) {
        hc_field_t context [] = {hc_field_raw ("iceParams", cmd->ice_params)};
        s_error (self, cmd->conn, "ws.userId is missing", "ADD_ICE", context,
                 1);
        return;
    }
    p2p_text_set (&record->ice_params, hc_str_present (cmd->ice_params)
                                     ? cmd->ice_params : HC_STR_LIT ("[]"));
}

static void
s_swap_ice (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    hc_field_t context [] = {hc_field_raw ("id", cmd->user_raw)};
    const char *error = NULL;
    p2p_record_t *me = NULL, *partner = NULL;
    if (!hc_str_present (cmd->user_key))
        error = "<b>userId</b> is required";
    else
    if (!(me = s_own_record (self, cmd)))
        error = "First user was not found";
    else
    if (!me->partner.ptr)
        error = "<b>userId</b> of the second user not found";
    else {
        p2p_user_t *other = p2p_user_find (&self->tables, p2p_text (&me->partner));
        partner = other ? p2p_user_active (other) : NULL;
        if (!partner)
            error = "Second user was not found";
    }
    if (error) {
        s_error (self, cmd->conn, error, "SWAP_ICE", context, 1);
        return;
    }
    p2p_text_set (&me->candidate_ice, p2p_text (&partner->ice_params));
    p2p_text_set (&partner->candidate_ice, p2p_text (&me->ice_params));
    s_set_status (self, me, P2P_IN_CALL);
    p2p_frame_t frame;
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         p2p_text (&partner->ice_params)));
    s_send_user (self, me->user, &frame);
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         p2p_text (&me->ice_params)));
    s_send_user (self, partner->user, &frame);
}

static void
s_set_stream (p2p_calls_t *self, const msg_p2p_t *cmd)
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
    if (!p2p_user_find (&self->tables, cmd->user_key))
        error = "peer1 not found";
    else
    if (!(record = s_own_record (self, cmd)))
        error = "Cannot read properties of undefined (reading 'streamIds')";
    if (error) {
        s_error (self, cmd->conn, error, "SET_REMOTE_STREAM_ID", NULL, 0);
        return;
    }
    size_t at;
    for (at = 0; at < record->streams_n; at++)
        if (p2p_text_is (&record->streams [at].kind, cmd->kind))
            break;
    if (at == P2P_STREAMS_MAX) {
        s_error (self, cmd->conn, "Too many stream kinds",
                 "SET_REMOTE_STREAM_ID", NULL, 0);
        return;
    }
    if (at == record->streams_n) {
        p2p_text_set (&record->streams [at].kind, cmd->kind);
        record->streams_n++;
    }
    p2p_text_set (&record->streams [at].id, cmd->stream_id);
}

static void
s_media_update (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    p2p_record_t *record = p2p_record_find (&self->tables, cmd->conn);
    if (!record) {
        s_error_payload (self, cmd, "userId is required", "handleUpdateMedia");
        return;
    }
    //  The active record's partner, else the last record's (as the original)
    const p2p_record_t *source = p2p_user_active (record->user);
    if (!source)
        for (source = record->user->records; source->next;
             source = source->next)
            ;
    p2p_user_t *partner = source->partner.ptr
                    ? p2p_user_find (&self->tables, p2p_text (&source->partner)) : NULL;
    if (!partner) {
        s_error_payload (self, cmd, "Candidate not found",
                         "handleUpdateMedia");
        return;
    }
    p2p_frame_t frame;
    p2p_frame_init (&frame, "updateMedia");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    s_send_user (self, partner, &frame);
}

//  ---------------------------------------------------------------------
//  Public API

p2p_calls_t *
p2p_calls_new (const p2p_calls_cfg_t *cfg, const rooms_sink_t *sink)
{
    assert (cfg->max_devices >= 1);
    p2p_calls_t *self = (p2p_calls_t *) calloc (1, sizeof (p2p_calls_t));
    assert (self);
    self->cfg = *cfg;
    self->sink = *sink;
    p2p_users_init (&self->tables);
    self->targets = (uint64_t *) calloc (cfg->max_devices, sizeof (uint64_t));
    assert (self->targets);
    return self;
}

void
p2p_calls_destroy (p2p_calls_t **self_p)
{
    p2p_calls_t *self = *self_p;
    if (!self)
        return;
    p2p_users_clear (&self->tables);
    free (self->targets);
    free (self);
    *self_p = NULL;
}

void
p2p_calls_command (p2p_calls_t *self, const msg_p2p_t *cmd, p2p_now_t now)
{
    switch (cmd->route) {
        case MSG_P2P_ADD_USER:      s_add_user (self, cmd); break;
        case MSG_P2P_RECONNECT:     s_reconnect (self, cmd); break;
        case MSG_P2P_OFFER:         s_offer (self, cmd, now); break;
        case MSG_P2P_UPDATE_OFFER: {
            p2p_record_t *record = s_offer_sender (self, cmd);
            if (record)
                s_update_offer (self, cmd, record);
            break;
        }
        case MSG_P2P_ANSWER:        s_answer (self, cmd); break;
        case MSG_P2P_UPDATE_ANSWER: {
            msg_p2p_t update = *cmd;
            update.is_update = true;
            s_answer (self, &update);
            break;
        }
        case MSG_P2P_DECLINE:       s_decline_route (self, cmd); break;
        case MSG_P2P_ADD_ICE:       s_add_ice (self, cmd); break;
        case MSG_P2P_SWAP_ICE:      s_swap_ice (self, cmd); break;
        case MSG_P2P_SET_REMOTE_STREAM_ID: s_set_stream (self, cmd); break;
        case MSG_P2P_MEDIA_UPDATE:  s_media_update (self, cmd); break;
        case MSG_P2P_ROUTE_COUNT:   break;
    }
}

void
p2p_calls_close (p2p_calls_t *self, uint64_t conn, p2p_now_t now)
{
    p2p_record_t *record = p2p_record_find (&self->tables, conn);
    if (!record)
        return;
    char hex [17];
    hc_conn_hex (conn, hex);
    if (s_in_call (record) && self->cfg.reconnect_grace_ms > 0) {
        //  Kept for RECONNECT (B10); the partner hears nothing yet
        p2p_record_detach (&self->tables, record,
                           now.mono_ms + self->cfg.reconnect_grace_ms);
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.grace",
                  hc_field_str ("user", p2p_user_key (record->user)),
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("grace_ms", self->cfg.reconnect_grace_ms));
        return;
    }
    HC_LOG (self->sink.log, HC_LOG_DEBUG, "p2p.unregister",
            hc_field_str ("user", p2p_user_key (record->user)),
            hc_field_str ("conn", hc_str (hex)));
    s_record_end (self, record);
}

//  Detached records whose grace is over end their call: the partner gets
//  decline, as if they had hung up (B10)
static void
s_expire_grace (p2p_calls_t *self, int64_t now)
{
    zlistx_t *expired = p2p_records_expired (&self->tables, now);
    for (p2p_record_t *r = (p2p_record_t *) zlistx_first (expired); r;
         r = (p2p_record_t *) zlistx_next (expired)) {
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.grace_expired",
                  hc_field_str ("user", p2p_user_key (r->user)),
                  hc_field_str ("status", hc_str (p2p_status_name (r->status))));
        s_record_end (self, r);
    }
    zlistx_destroy (&expired);
}

//  Expired waiting entries: the caller, if still calling that callee,
//  hears decline (B1); a cancelled entry just goes
static void
s_sweep_waiting (p2p_calls_t *self, int64_t now)
{
    zlistx_t *expired = p2p_wait_expired (&self->tables, now);
    for (const char *callee = (const char *) zlistx_first (expired); callee;
         callee = (const char *) zlistx_next (expired)) {
        p2p_wait_t *entry = p2p_wait_find (&self->tables, hc_str (callee));
        p2p_user_t *caller = entry->cancel
                           ? NULL
                           : p2p_user_find (&self->tables,
                                            p2p_text (&entry->caller));
        p2p_record_t *calling = caller ? p2p_user_active (caller) : NULL;
        HC_EVENT (self->sink.log, HC_LOG_INFO, "p2p.waiting_expired",
                  hc_field_str ("from", p2p_text (&entry->caller)),
                  hc_field_str ("to", hc_str (callee)));
        if (calling && calling->status == P2P_CALLING
        &&  p2p_text_is (&calling->partner, hc_str (callee))) {
            p2p_frame_t frame;
            p2p_frame_init (&frame, "decline");
            s_send_user (self, caller, &frame);
            s_set_status (self, calling, P2P_ENDED);
        }
        p2p_wait_remove (&self->tables, hc_str (callee));
    }
    zlistx_destroy (&expired);
}

void
p2p_calls_tick (p2p_calls_t *self, p2p_now_t now)
{
    s_expire_grace (self, now.mono_ms);
    if (self->next_sweep && now.mono_ms >= self->next_sweep) {
        s_sweep_waiting (self, now.mono_ms);
        self->next_sweep = zhashx_size (self->tables.waiting)
                         ? now.mono_ms + self->cfg.waiting_sweep_ms : 0;
    }
}

int64_t
p2p_calls_next_deadline (p2p_calls_t *self)
{
    int64_t next = self->next_sweep ? self->next_sweep : -1;
    if (self->tables.detached
    &&  (next < 0 || self->tables.grace_next < next))
        next = self->tables.grace_next;
    return next;
}

size_t
p2p_calls_user_count (p2p_calls_t *self)
{
    return zhashx_size (self->tables.users);
}

size_t
p2p_calls_waiting_count (p2p_calls_t *self)
{
    return zhashx_size (self->tables.waiting);
}

size_t
p2p_calls_linked_count (p2p_calls_t *self)
{
    return zhashx_size (self->tables.pairs);
}

size_t
p2p_calls_grace_count (p2p_calls_t *self)
{
    return self->tables.detached;
}
