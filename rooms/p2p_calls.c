/*  p2p_calls.c - the p2p dialect's state: users, devices, calls, waiting list

    A user (keyed by String(userId)) has records, one per connection that
    registered under it, in registration order: the original's Map of
    connection -> record. A record whose connection closed during a call is
    kept "detached" (conn 0) for the reconnect grace period: it still
    counts as the user's active record, frames for it are dropped, and
    RECONNECT attaches it to the new connection.

    Delivery to a user follows the original's rule: its active record (the
    first that is not idle), or every connection when none is active, so
    all devices ring.
*/
#include "p2p_calls.h"
#include "p2p_frame.h"
#include "../common/idmap.h"

#include <assert.h>
#include <inttypes.h>

#define STREAMS_MAX 16          //  stream kinds per record
#define CONTEXT_MAX 16          //  members an error's context echoes
#define CONTEXT_VALUE_MAX 1024  //  bytes of one echoed value
#define KEY_MAX 256             //  bytes of a user id

typedef enum {
    ST_IDLE = 0,
    ST_CALLING,                 //  sent OFFER or UPDATE_OFFER
    ST_RINGING,                 //  answered, connecting (the original's name)
    ST_IN_CALL,                 //  sent SWAP_ICE
    ST_ENDED                    //  the other side hung up; awaiting DECLINE
} status_t;

static const char *const s_status_names [] = {
    "idle", "calling", "ringing", "in_call", "ended"};

//  An owned copy of a string; ptr == NULL when absent
typedef struct {
    char *ptr;
    size_t len;
} text_t;

typedef struct {
    text_t kind;                //  String(kind)
    text_t id;                  //  raw JSON of the stream id
} stream_t;

typedef struct _user_t user_t;
typedef struct _record_t record_t;

struct _record_t {
    record_t *next;             //  the user's next record
    user_t *user;               //  owner
    uint64_t conn;              //  key in self->conns; 0 while detached
    int64_t grace_until;        //  detached: when the session is given up
    status_t status;
    text_t partner;             //  the other user's key (original: candidate)
    text_t name;                //  raw JSON; may be absent
    text_t photo;               //  raw JSON; "" by default
    text_t device;              //  raw JSON; "mobile" by default
    text_t ice_params;          //  raw JSON; own ICE data
    text_t candidate_ice;       //  raw JSON; the partner's, set by SWAP_ICE
    stream_t streams [STREAMS_MAX]; //  streamIds, in insertion order
    size_t streams_n;
};

struct _user_t {
    char *key;                  //  String(userId), key of self->users
    size_t key_len;
    record_t *records;          //  in registration order
    size_t records_n;
};

typedef struct {
    text_t caller;              //  key of the calling user
    p2p_kept_t *frame;          //  members of its "call" frame, type aside
    int64_t expires;            //  monotonic ms
    bool cancel;                //  the caller hung up: tell "cancel" instead
} wait_t;

struct _p2p_calls_t {
    p2p_calls_cfg_t cfg;        //  timers and bounds
    rooms_sink_t sink;          //  frames and log records go out here
    zhashx_t *users;            //  key -> user_t
    zhashx_t *conns;            //  connection id -> attached record_t
    zhashx_t *pairs;            //  key -> partner key, set by ANSWER
    zhashx_t *waiting;          //  callee key -> wait_t
    int64_t next_sweep;         //  when the waiting list is swept next
    size_t detached;            //  records waiting for RECONNECT
    int64_t grace_next;         //  no detached record expires before this
    uint64_t *targets;          //  scratch: connections of one delivery
    char key [KEY_MAX + 1];     //  scratch: a NUL-terminated key
};

//  ---------------------------------------------------------------------
//  Small helpers

static void
s_text_set (text_t *text, hc_str_t value)
{
    free (text->ptr);
    text->ptr = NULL;
    text->len = 0;
    if (!hc_str_present (value))
        return;
    text->ptr = (char *) malloc (value.len + 1);
    assert (text->ptr);
    memcpy (text->ptr, value.ptr, value.len);
    text->ptr [value.len] = 0;
    text->len = value.len;
}

static hc_str_t
s_text (const text_t *text)
{
    return text->ptr ? (hc_str_t){text->ptr, text->len} : HC_STR_NULL;
}

static bool
s_text_is (const text_t *text, hc_str_t value)
{
    return text->ptr && hc_str_eq (s_text (text), value);
}

static hc_str_t
s_user_key (const user_t *user)
{
    return (hc_str_t){user->key, user->key_len};
}

//  JavaScript falsiness of a stored scalar: "", null, false, 0
static bool
s_raw_falsy (hc_str_t raw)
{
    if (!hc_str_present (raw) || hc_str_eq_cstr (raw, "\"\"")
    ||  hc_str_eq_cstr (raw, "null") || hc_str_eq_cstr (raw, "false"))
        return true;
    //  A number is zero when it has no digit other than 0 before any exponent
    size_t i = raw.len && raw.ptr [0] == '-' ? 1 : 0;
    if (i >= raw.len || raw.ptr [i] < '0' || raw.ptr [i] > '9')
        return false;
    for (; i < raw.len && raw.ptr [i] != 'e' && raw.ptr [i] != 'E'; i++)
        if (raw.ptr [i] != '0' && raw.ptr [i] != '.')
            return false;
    return true;
}

static const char *
s_nul (p2p_calls_t *self, hc_str_t key)
{
    size_t len = key.len < KEY_MAX ? key.len : KEY_MAX;
    memcpy (self->key, key.ptr, len);
    self->key [len] = 0;
    return self->key;
}

static user_t *
s_user (p2p_calls_t *self, hc_str_t key)
{
    if (!hc_str_present (key) || key.len > KEY_MAX)
        return NULL;
    return (user_t *) zhashx_lookup (self->users, s_nul (self, key));
}

static record_t *
s_record (p2p_calls_t *self, uint64_t conn)
{
    return (record_t *) zhashx_lookup (self->conns, &conn);
}

//  The first record that is not idle
static record_t *
s_active (const user_t *user)
{
    for (record_t *record = user->records; record; record = record->next)
        if (record->status != ST_IDLE)
            return record;
    return NULL;
}

static void
s_conn_hex (uint64_t conn, char hex [17])
{
    snprintf (hex, 17, "%016" PRIx64, conn);
}

static void
s_set_status (p2p_calls_t *self, record_t *record, status_t status)
{
    if (record->status == status)
        return;
    char hex [17];
    s_conn_hex (record->conn, hex);
    HC_LOG (self->sink.log, HC_LOG_INFO, "call.status",
            hc_field_str ("user", s_user_key (record->user)),
            hc_field_str ("conn", hc_str (hex)),
            hc_field_str ("from", hc_str (s_status_names [record->status])),
            hc_field_str ("to", hc_str (s_status_names [status])));
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
s_send_user (p2p_calls_t *self, const user_t *user, const p2p_frame_t *frame)
{
    size_t n = 0;
    record_t *active = s_active (user);
    if (active) {
        if (active->conn)
            self->targets [n++] = active->conn;
    }
    else
        for (record_t *r = user->records; r; r = r->next)
            if (r->conn && n < self->cfg.max_devices)
                self->targets [n++] = r->conn;
    if (n == 0)
        HC_LOG (self->sink.log, HC_LOG_DEBUG, "p2p.undelivered",
                hc_field_str ("user", s_user_key (user)),
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
s_send_cancel (p2p_calls_t *self, const user_t *user)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "cancel");
    size_t n = 0;
    for (record_t *r = user->records; r; r = r->next)
        if (r->conn && r->status == ST_IDLE && n < self->cfg.max_devices)
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
    s_conn_hex (conn, hex);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.error",
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
s_send_streams (p2p_calls_t *self, const user_t *to, const record_t *from)
{
    hc_field_t ids [STREAMS_MAX];
    for (size_t i = 0; i < from->streams_n; i++)
        ids [i] = (hc_field_t){.key = s_text (&from->streams [i].kind),
                               .type = HC_V_RAW,
                               .str = s_text (&from->streams [i].id)};
    p2p_frame_t frame;
    p2p_frame_init (&frame, "remoteStreamsId");
    p2p_frame_set (&frame, hc_field_obj ("streamIds", ids, from->streams_n));
    s_send_user (self, to, &frame);
}

//  ---------------------------------------------------------------------
//  Users and records

static record_t *
s_record_new (p2p_calls_t *self, user_t *user, uint64_t conn)
{
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    assert (record);
    record->user = user;
    record->conn = conn;
    s_text_set (&record->ice_params, HC_STR_LIT ("[]"));
    s_text_set (&record->candidate_ice, HC_STR_LIT ("[]"));
    record_t **tail = &user->records;
    while (*tail)
        tail = &(*tail)->next;
    *tail = record;
    user->records_n++;
    int rc = zhashx_insert (self->conns, &record->conn, record);
    assert (rc == 0);
    (void) rc;
    return record;
}

static void
s_record_free (record_t *record)
{
    text_t *texts [] = {&record->partner, &record->name, &record->photo,
                        &record->device, &record->ice_params,
                        &record->candidate_ice};
    for (size_t i = 0; i < sizeof (texts) / sizeof (texts [0]); i++)
        s_text_set (texts [i], HC_STR_NULL);
    for (size_t i = 0; i < record->streams_n; i++) {
        s_text_set (&record->streams [i].kind, HC_STR_NULL);
        s_text_set (&record->streams [i].id, HC_STR_NULL);
    }
    free (record);
}

static user_t *
s_user_new (p2p_calls_t *self, hc_str_t key)
{
    user_t *user = (user_t *) calloc (1, sizeof (user_t));
    assert (user);
    user->key = (char *) malloc (key.len + 1);
    assert (user->key);
    memcpy (user->key, key.ptr, key.len);
    user->key [key.len] = 0;
    user->key_len = key.len;
    int rc = zhashx_insert (self->users, user->key, user);
    assert (rc == 0);
    (void) rc;
    return user;
}

//  Takes a record out of its user (and the user out, when it was the last)
static void
s_record_remove (p2p_calls_t *self, record_t *record)
{
    user_t *user = record->user;
    if (record->conn)
        zhashx_delete (self->conns, &record->conn);
    else
        self->detached--;
    for (record_t **at = &user->records; *at; at = &(*at)->next)
        if (*at == record) {
            *at = record->next;
            break;
        }
    user->records_n--;
    s_record_free (record);
    if (user->records_n == 0) {
        zhashx_delete (self->users, user->key);
        free (user->key);
        free (user);
    }
}

static void
s_pair_remove (p2p_calls_t *self, hc_str_t key)
{
    const char *partner = (const char *) zhashx_lookup (self->pairs,
                                                        s_nul (self, key));
    if (partner) {
        char other [KEY_MAX + 1];
        snprintf (other, sizeof (other), "%s", partner);
        zhashx_delete (self->pairs, self->key);
        if (zhashx_lookup (self->pairs, other))
            zhashx_delete (self->pairs, other);
    }
}

static void
s_pair_set (p2p_calls_t *self, hc_str_t a, hc_str_t b)
{
    char first [KEY_MAX + 1];
    snprintf (first, sizeof (first), "%s", s_nul (self, a));
    char second [KEY_MAX + 1];
    snprintf (second, sizeof (second), "%s", s_nul (self, b));
    zhashx_update (self->pairs, first, strdup (second));
    zhashx_update (self->pairs, second, strdup (first));
}

//  ---------------------------------------------------------------------
//  Waiting list

static void
s_wait_destroy (void **item)
{
    wait_t *entry = (wait_t *) *item;
    if (entry) {
        s_text_set (&entry->caller, HC_STR_NULL);
        p2p_kept_destroy (&entry->frame);
        free (entry);
        *item = NULL;
    }
}

//  Removes every entry of a caller but the one for keep (when given)
static void
s_waiting_drop_caller (p2p_calls_t *self, hc_str_t caller, hc_str_t keep)
{
    zlistx_t *doomed = zlistx_new ();
    zlistx_set_destructor (doomed, (zlistx_destructor_fn *) zstr_free);
    for (wait_t *entry = (wait_t *) zhashx_first (self->waiting); entry;
         entry = (wait_t *) zhashx_next (self->waiting)) {
        const char *callee = (const char *) zhashx_cursor (self->waiting);
        if (s_text_is (&entry->caller, caller)
        &&  !(hc_str_present (keep) && hc_str_eq_cstr (keep, callee)))
            zlistx_add_end (doomed, strdup (callee));
    }
    for (const char *callee = (const char *) zlistx_first (doomed); callee;
         callee = (const char *) zlistx_next (doomed))
        zhashx_delete (self->waiting, callee);
    zlistx_destroy (&doomed);
}

//  ---------------------------------------------------------------------
//  Ending calls

//  DECLINE by a record: reject, cancel, hang up or acknowledge (reference
//  3.11), with B9: a call's partner links are cleared as it ends
static void
s_decline (p2p_calls_t *self, record_t *me)
{
    user_t *my_user = me->user;
    char other_key [KEY_MAX + 1] = "";
    bool has_other = me->partner.ptr != NULL;
    if (has_other)
        snprintf (other_key, sizeof (other_key), "%s", me->partner.ptr);
    hc_str_t my_key = s_user_key (my_user);
    if (has_other) {
        //  An offline callee learns on registering that the call is off;
        //  the other candidates of that offer are forgotten (B8)
        wait_t *entry = (wait_t *) zhashx_lookup (self->waiting, other_key);
        if (entry && s_text_is (&entry->caller, my_key))
            entry->cancel = true;
        s_waiting_drop_caller (self, my_key, hc_str (other_key));
    }
    user_t *other = has_other ? s_user (self, hc_str (other_key)) : NULL;
    if (!other) {
        s_set_status (self, me, ST_IDLE);
        s_text_set (&me->partner, HC_STR_NULL);
        s_send_cancel (self, my_user);
        s_pair_remove (self, my_key);
        return;
    }
    record_t *other_active = s_active (other);
    if (!other_active)
        s_send_cancel (self, other);
    if (me->status == ST_ENDED) {
        //  The acknowledgement of the other side's decline
        s_set_status (self, me, ST_IDLE);
        s_text_set (&me->partner, HC_STR_NULL);
        return;
    }
    s_set_status (self, me, ST_IDLE);
    if (!other_active || (other_active->status != ST_IDLE
                          && other_active->status != ST_ENDED)) {
        p2p_frame_t frame;
        p2p_frame_init (&frame, "decline");
        if (me->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name", s_text (&me->name)));
        s_send_user (self, other, &frame);
        if (other_active)
            s_set_status (self, other_active, ST_ENDED);
    }
    s_send_cancel (self, my_user);
    s_pair_remove (self, my_key);
    s_text_set (&me->partner, HC_STR_NULL);
    if (!other_active)
        //  It was ringing: nobody there will acknowledge, the call is over
        for (record_t *r = other->records; r; r = r->next)
            if (s_text_is (&r->partner, my_key))
                s_text_set (&r->partner, HC_STR_NULL);
}

static bool
s_in_call (const record_t *record)
{
    return record->status == ST_CALLING || record->status == ST_RINGING
        || record->status == ST_IN_CALL;
}

//  A record goes for good: a call it was in ends as if it had hung up
static void
s_record_end (p2p_calls_t *self, record_t *record)
{
    if (s_in_call (record))
        s_decline (self, record);
    s_record_remove (self, record);
}

//  ---------------------------------------------------------------------
//  Routes

//  The record of the connection, when it registered under the command's id
static record_t *
s_own_record (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    record_t *record = s_record (self, cmd->conn);
    if (record && hc_str_present (cmd->user_key)
    &&  hc_str_eq (s_user_key (record->user), cmd->user_key))
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
    user_t *user = s_user (self, cmd->user_key);
    if (!user && zhashx_size (self->users) >= self->cfg.max_users) {
        s_error (self, cmd->conn, "Too many users", "ADD_USER", NULL, 0);
        return;
    }
    //  A fresh record: the connection's old one goes (B16), whatever id
    record_t *old = s_record (self, cmd->conn);
    if (old && old->user == user && user->records_n == 1) {
        s_record_end (self, old);       //  the user itself goes too
        user = NULL;
    }
    else
    if (old)
        s_record_end (self, old);
    if (user && user->records_n >= self->cfg.max_devices) {
        s_error (self, cmd->conn, "Too many connections for this user",
                 "ADD_USER", NULL, 0);
        return;
    }
    if (!user)
        user = s_user_new (self, cmd->user_key);
    record_t *record = s_record_new (self, user, cmd->conn);
    s_text_set (&record->name, cmd->name);
    s_text_set (&record->photo, hc_str_present (cmd->photo) ? cmd->photo
                                                            : HC_STR_LIT ("\"\""));
    s_text_set (&record->device, hc_str_present (cmd->device)
                                 ? cmd->device : HC_STR_LIT ("\"mobile\""));
    char hex [17];
    s_conn_hex (cmd->conn, hex);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.register",
            hc_field_str ("user", cmd->user_key),
            hc_field_str ("conn", hc_str (hex)),
            hc_field_int ("devices", (int64_t) user->records_n));

    //  A call that waited for this user
    wait_t *entry = (wait_t *) zhashx_lookup (self->waiting,
                                              s_nul (self, cmd->user_key));
    if (!entry)
        return;
    if (entry->cancel)
        s_send_cancel (self, user);
    else {
        for (record_t *r = user->records; r; r = r->next)
            s_text_set (&r->partner, s_text (&entry->caller));
        p2p_frame_t frame;
        p2p_frame_init (&frame, "call");
        size_t n;
        const hc_field_t *fields = p2p_kept_fields (entry->frame, &n);
        p2p_frame_merge (&frame, fields, n);
        s_send_user (self, user, &frame);
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.call",
                hc_field_str ("from", s_text (&entry->caller)),
                hc_field_str ("to", cmd->user_key),
                hc_field_str ("result", HC_STR_LIT ("delivered")));
    }
    zhashx_delete (self->waiting, s_nul (self, cmd->user_key));
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
    s_conn_hex (conn, hex);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.reconnect",
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
    char message [KEY_MAX + 64];
    user_t *user = s_user (self, cmd->user_key);
    if (!user) {
        snprintf (message, sizeof (message),
                  "No existing session found for user %.*s",
                  (int) cmd->user_key.len, cmd->user_key.ptr);
        s_reconnect_error (self, cmd->conn, message);
        return;
    }
    //  The session: a record in a call, or still linked to a partner
    record_t *session = NULL;
    for (record_t *r = user->records; r && !session; r = r->next)
        if (r->status != ST_IDLE || r->partner.ptr)
            session = r;
    if (!session) {
        snprintf (message, sizeof (message),
                  "No active session found for user %.*s",
                  (int) cmd->user_key.len, cmd->user_key.ptr);
        s_reconnect_error (self, cmd->conn, message);
        return;
    }
    //  This connection's own record, if any, gives way (B16)
    record_t *mine = s_record (self, cmd->conn);
    if (mine && mine != session)
        s_record_end (self, mine);
    //  The session moves here; a connection still holding it is closed (B11)
    uint64_t old_conn = session->conn;
    if (old_conn != cmd->conn) {
        if (old_conn)
            zhashx_delete (self->conns, &session->conn);
        else
            self->detached--;
        session->conn = cmd->conn;
        session->grace_until = 0;
        int rc = zhashx_insert (self->conns, &session->conn, session);
        assert (rc == 0);
        (void) rc;
        if (old_conn)
            self->sink.kick (self->sink.ctx, old_conn, 1000,
                             "Session moved to another connection");
    }
    //  name || stored name (the gateway sends only truthy values); the
    //  stored device stays when none is given (B12)
    if (hc_str_present (cmd->name))
        s_text_set (&session->name, cmd->name);
    if (hc_str_present (cmd->photo))
        s_text_set (&session->photo, cmd->photo);
    if (hc_str_present (cmd->device))
        s_text_set (&session->device, cmd->device);

    hc_str_t status = hc_str (s_status_names [session->status]);
    p2p_frame_t frame;
    p2p_frame_init (&frame, "reconnectSuccess");
    p2p_frame_set (&frame, hc_field_str ("status", status));
    if (session->partner.ptr)
        p2p_frame_set (&frame, hc_field_str ("candidate",
                                             s_text (&session->partner)));
    p2p_frame_set (&frame, hc_field_str ("message",
                                         HC_STR_LIT ("Session restored "
                                                     "successfully")));
    s_send_conn (self, cmd->conn, &frame);
    char hex [17];
    s_conn_hex (cmd->conn, hex);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.reconnect",
            hc_field_str ("conn", hc_str (hex)),
            hc_field_str ("user", cmd->user_key),
            hc_field_str ("result", HC_STR_LIT ("restored")),
            hc_field_str ("status", status));
    user_t *partner = session->partner.ptr
                    ? s_user (self, s_text (&session->partner)) : NULL;
    if (partner) {
        p2p_frame_init (&frame, "peerReconnected");
        p2p_frame_set (&frame, hc_field_raw ("userId", cmd->user_raw));
        if (session->name.ptr)
            p2p_frame_set (&frame, hc_field_raw ("name",
                                                 s_text (&session->name)));
        p2p_frame_set (&frame, hc_field_str ("status", status));
        s_send_user (self, partner, &frame);
    }
}

//  Checks every route of the OFFER family makes first
static record_t *
s_offer_sender (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_error_payload (self, cmd, "userId is required", "OFFER");
        return NULL;
    }
    if (!s_user (self, cmd->user_key)) {
        s_error_payload (self, cmd,
                         "Cannot read properties of undefined (reading 'get')",
                         "OFFER");
        return NULL;
    }
    record_t *record = s_own_record (self, cmd);
    if (!record)
        s_error_payload (self, cmd, "User not found", "OFFER");
    return record;
}

static void
s_update_offer (p2p_calls_t *self, const msg_p2p_t *cmd, record_t *record)
{
    s_set_status (self, record, ST_CALLING);
    const char *peer_key = (const char *) zhashx_lookup (
        self->pairs, s_nul (self, cmd->user_key));
    user_t *peer = peer_key ? s_user (self, hc_str (peer_key)) : NULL;
    if (!peer) {
        s_error_payload (self, cmd, "Peer2 not found", "OFFER");
        return;
    }
    record_t *peer_active = s_active (peer);
    p2p_frame_t frame;
    if (peer_active && peer_active->status == ST_ENDED) {
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
s_callee_busy (const user_t *callee, hc_str_t caller_key)
{
    const record_t *active = s_active (callee);
    if (!active)
        return false;
    if (active->status == ST_ENDED)
        return true;
    return s_in_call (active) && !s_text_is (&active->partner, caller_key);
}

static void
s_offer (p2p_calls_t *self, const msg_p2p_t *cmd, p2p_now_t now)
{
    record_t *record = s_offer_sender (self, cmd);
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
    user_t *callee = NULL;
    for (size_t i = 0; i < callees_n && !callee; i++)
        callee = s_user (self, callees [i]);
    hc_str_t candidate_id = callee ? s_user_key (callee) : callees [0];

    p2p_frame_t frame;
    bool paired = zhashx_lookup (self->pairs, s_nul (self, caller_key)) != NULL;
    if (paired || (callee && s_callee_busy (callee, caller_key))) {
        //  Nothing of either call changes (B6)
        p2p_frame_init (&frame, "busy");
        s_send_user (self, record->user, &frame);
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.call",
                hc_field_str ("from", caller_key),
                hc_field_str ("to", candidate_id),
                hc_field_str ("result", HC_STR_LIT ("busy")));
        return;
    }
    s_set_status (self, record, ST_CALLING);
    for (record_t *r = record->user->records; r; r = r->next)
        s_text_set (&r->partner, candidate_id);

    //  Candidates that were not reached wait for their next ADD_USER (B8:
    //  only those), with the call frame the original stored
    p2p_frame_t entry_frame;
    entry_frame.n = 0;
    p2p_frame_merge (&entry_frame, cmd->payload, cmd->payload_n);
    p2p_frame_set (&entry_frame, hc_field_raw ("userId", cmd->user_raw));
    hc_str_t name = hc_str_present (cmd->name) ? cmd->name
                                               : s_text (&record->name);
    if (hc_str_present (name))
        p2p_frame_set (&entry_frame, hc_field_raw ("name", name));
    if (!s_raw_falsy (s_text (&record->photo)))
        p2p_frame_set (&entry_frame, hc_field_raw ("photo",
                                                   s_text (&record->photo)));
    p2p_frame_set (&entry_frame, hc_field_raw ("candidates", cmd->user_raw));
    p2p_frame_set (&entry_frame, hc_field_raw ("device",
                                               s_text (&record->device)));
    p2p_frame_set (&entry_frame, hc_field_int ("addedAt", now.wall_ms));
    for (size_t i = 0; i < callees_n; i++) {
        if (callee && hc_str_eq (callees [i], s_user_key (callee)))
            continue;
        const char *key = s_nul (self, callees [i]);
        if (!zhashx_lookup (self->waiting, key)
        &&  zhashx_size (self->waiting) >= self->cfg.max_waiting) {
            HC_LOG (self->sink.log, HC_LOG_WARN, "p2p.waiting_full",
                    hc_field_str ("from", caller_key),
                    hc_field_str ("to", callees [i]));
            continue;
        }
        wait_t *entry = (wait_t *) calloc (1, sizeof (wait_t));
        assert (entry);
        s_text_set (&entry->caller, caller_key);
        entry->frame = p2p_kept_new (entry_frame.fields, entry_frame.n);
        entry->expires = now.mono_ms + self->cfg.waiting_ttl_ms;
        zhashx_update (self->waiting, key, entry);
        if (self->next_sweep == 0)
            self->next_sweep = now.mono_ms + self->cfg.waiting_sweep_ms;
    }
    if (!callee) {
        char message [KEY_MAX + 64];
        snprintf (message, sizeof (message),
                  "Target user %.*s not found or not available",
                  (int) candidate_id.len, candidate_id.ptr);
        s_error_payload (self, cmd, message, "OFFER");
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.call",
                hc_field_str ("from", caller_key),
                hc_field_str ("to", candidate_id),
                hc_field_str ("result", HC_STR_LIT ("queued")));
        return;
    }
    for (record_t *r = callee->records; r; r = r->next)
        s_text_set (&r->partner, caller_key);
    //  The direct call: photo always, addedAt never (B15)
    p2p_frame_init (&frame, "call");
    p2p_frame_merge (&frame, cmd->payload, cmd->payload_n);
    p2p_frame_set (&frame, hc_field_raw ("userId", cmd->user_raw));
    if (hc_str_present (name))
        p2p_frame_set (&frame, hc_field_raw ("name", name));
    p2p_frame_set (&frame, hc_field_raw ("photo", s_text (&record->photo)));
    p2p_frame_set (&frame, hc_field_raw ("candidates", cmd->user_raw));
    p2p_frame_set (&frame, hc_field_raw ("device", s_text (&record->device)));
    s_send_user (self, callee, &frame);
    s_send_streams (self, callee, record);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.call",
            hc_field_str ("from", caller_key),
            hc_field_str ("to", candidate_id),
            hc_field_str ("result", HC_STR_LIT ("ringing")));
}

//  {type, ...} to the user's active record, then its partner's; B3: a
//  failure is told to the requesting connection
static void
s_broadcast (p2p_calls_t *self, const msg_p2p_t *cmd, const user_t *user,
             const user_t *partner, const char *type)
{
    record_t *mine = s_active (user);
    record_t *theirs = partner ? s_active (partner) : NULL;
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
    user_t *user = s_user (self, cmd->user_key);
    if (!user) {
        s_error (self, cmd->conn, "User not found", "ANSWER", context, 1);
        return;
    }
    record_t *record = s_own_record (self, cmd);
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
    user_t *caller = s_user (self, s_text (&record->partner));
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
    s_set_status (self, record, ST_RINGING);
    s_pair_set (self, cmd->user_key, s_user_key (caller));
    p2p_frame_init (&frame, "acceptCall");
    if (hc_str_present (cmd->answer))
        p2p_frame_set (&frame, hc_field_raw ("answer", cmd->answer));
    p2p_frame_set (&frame, hc_field_raw ("device", s_text (&record->device)));
    s_send_user (self, caller, &frame);
    s_send_cancel (self, user);         //  the answerer's other devices
    s_broadcast (self, cmd, user, caller, "connect");
    //  Answered: nobody else waits for this call any more (B8)
    zhashx_delete (self->waiting, s_nul (self, cmd->user_key));
    s_waiting_drop_caller (self, s_user_key (caller), HC_STR_NULL);
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.answer",
            hc_field_str ("from", cmd->user_key),
            hc_field_str ("to", s_user_key (caller)));
}

static void
s_decline_route (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    if (!hc_str_present (cmd->user_key)) {
        s_error (self, cmd->conn, "userId is required", "DECLINE", NULL, 0);
        return;
    }
    if (!s_user (self, cmd->user_key)) {
        s_error (self, cmd->conn, "Peer2 user not found", "DECLINE", NULL, 0);
        return;
    }
    record_t *record = s_own_record (self, cmd);
    if (!record) {
        s_error (self, cmd->conn, "Peer connection not found for ws",
                 "DECLINE", NULL, 0);
        return;
    }
    HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.decline",
            hc_field_str ("from", cmd->user_key),
            hc_field_str ("status", hc_str (s_status_names [record->status])));
    s_decline (self, record);
}

static void
s_add_ice (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    record_t *record = s_record (self, cmd->conn);
    if (!record) {
        hc_field_t context [] = {hc_field_raw ("iceParams", cmd->ice_params)};
        s_error (self, cmd->conn, "ws.userId is missing", "ADD_ICE", context,
                 1);
        return;
    }
    s_text_set (&record->ice_params, hc_str_present (cmd->ice_params)
                                     ? cmd->ice_params : HC_STR_LIT ("[]"));
}

static void
s_swap_ice (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    hc_field_t context [] = {hc_field_raw ("id", cmd->user_raw)};
    const char *error = NULL;
    record_t *me = NULL, *partner = NULL;
    if (!hc_str_present (cmd->user_key))
        error = "<b>userId</b> is required";
    else
    if (!(me = s_own_record (self, cmd)))
        error = "First user was not found";
    else
    if (!me->partner.ptr)
        error = "<b>userId</b> of the second user not found";
    else {
        user_t *other = s_user (self, s_text (&me->partner));
        partner = other ? s_active (other) : NULL;
        if (!partner)
            error = "Second user was not found";
    }
    if (error) {
        s_error (self, cmd->conn, error, "SWAP_ICE", context, 1);
        return;
    }
    s_text_set (&me->candidate_ice, s_text (&partner->ice_params));
    s_text_set (&partner->candidate_ice, s_text (&me->ice_params));
    s_set_status (self, me, ST_IN_CALL);
    p2p_frame_t frame;
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         s_text (&partner->ice_params)));
    s_send_user (self, me->user, &frame);
    p2p_frame_init (&frame, "swapIce");
    p2p_frame_set (&frame, hc_field_raw ("iceCandidates",
                                         s_text (&me->ice_params)));
    s_send_user (self, partner->user, &frame);
}

static void
s_set_stream (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    const char *error = NULL;
    record_t *record = NULL;
    if (!hc_str_present (cmd->user_key))
        error = "userId is required";
    else
    if (!hc_str_present (cmd->kind))
        error = "kind is required";
    else
    if (!hc_str_present (cmd->stream_id))
        error = "streamId is required";
    else
    if (!s_user (self, cmd->user_key))
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
        if (s_text_is (&record->streams [at].kind, cmd->kind))
            break;
    if (at == STREAMS_MAX) {
        s_error (self, cmd->conn, "Too many stream kinds",
                 "SET_REMOTE_STREAM_ID", NULL, 0);
        return;
    }
    if (at == record->streams_n) {
        s_text_set (&record->streams [at].kind, cmd->kind);
        record->streams_n++;
    }
    s_text_set (&record->streams [at].id, cmd->stream_id);
}

static void
s_media_update (p2p_calls_t *self, const msg_p2p_t *cmd)
{
    record_t *record = s_record (self, cmd->conn);
    if (!record) {
        s_error_payload (self, cmd, "userId is required", "handleUpdateMedia");
        return;
    }
    //  The active record's partner, else the last record's (as the original)
    const record_t *source = s_active (record->user);
    if (!source)
        for (source = record->user->records; source->next;
             source = source->next)
            ;
    user_t *partner = source->partner.ptr
                    ? s_user (self, s_text (&source->partner)) : NULL;
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
    self->users = zhashx_new ();
    zhashx_set_key_duplicator (self->users, NULL);
    zhashx_set_key_destructor (self->users, NULL);
    self->conns = hc_idmap_new ();
    self->pairs = zhashx_new ();
    zhashx_set_destructor (self->pairs, (zhashx_destructor_fn *) zstr_free);
    self->waiting = zhashx_new ();
    zhashx_set_destructor (self->waiting, s_wait_destroy);
    self->targets = (uint64_t *) calloc (cfg->max_devices, sizeof (uint64_t));
    assert (self->users && self->conns && self->pairs && self->waiting
            && self->targets);
    return self;
}

void
p2p_calls_destroy (p2p_calls_t **self_p)
{
    p2p_calls_t *self = *self_p;
    if (!self)
        return;
    for (user_t *user = (user_t *) zhashx_first (self->users); user;
         user = (user_t *) zhashx_next (self->users)) {
        record_t *record = user->records;
        while (record) {
            record_t *next = record->next;
            s_record_free (record);
            record = next;
        }
        free (user->key);
        free (user);
    }
    zhashx_destroy (&self->users);
    zhashx_destroy (&self->conns);
    zhashx_destroy (&self->pairs);
    zhashx_destroy (&self->waiting);
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
            record_t *record = s_offer_sender (self, cmd);
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
    record_t *record = s_record (self, conn);
    if (!record)
        return;
    char hex [17];
    s_conn_hex (conn, hex);
    if (s_in_call (record) && self->cfg.reconnect_grace_ms > 0) {
        //  Kept for RECONNECT (B10); the partner hears nothing yet
        zhashx_delete (self->conns, &record->conn);
        record->conn = 0;
        record->grace_until = now.mono_ms + self->cfg.reconnect_grace_ms;
        if (self->detached++ == 0 || record->grace_until < self->grace_next)
            self->grace_next = record->grace_until;
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.grace",
                hc_field_str ("user", s_user_key (record->user)),
                hc_field_str ("conn", hc_str (hex)),
                hc_field_int ("grace_ms", self->cfg.reconnect_grace_ms));
        return;
    }
    HC_LOG (self->sink.log, HC_LOG_DEBUG, "p2p.unregister",
            hc_field_str ("user", s_user_key (record->user)),
            hc_field_str ("conn", hc_str (hex)));
    s_record_end (self, record);
}

//  Detached records whose grace is over end their call: the partner gets
//  decline, as if they had hung up (B10)
static void
s_expire_grace (p2p_calls_t *self, int64_t now)
{
    if (self->detached == 0 || now < self->grace_next)
        return;
    zlistx_t *expired = zlistx_new ();
    int64_t next = -1;
    for (user_t *user = (user_t *) zhashx_first (self->users); user;
         user = (user_t *) zhashx_next (self->users))
        for (record_t *r = user->records; r; r = r->next)
            if (!r->conn) {
                if (r->grace_until <= now)
                    zlistx_add_end (expired, r);
                else
                if (next < 0 || r->grace_until < next)
                    next = r->grace_until;
            }
    self->grace_next = next;
    for (record_t *r = (record_t *) zlistx_first (expired); r;
         r = (record_t *) zlistx_next (expired)) {
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.grace_expired",
                hc_field_str ("user", s_user_key (r->user)),
                hc_field_str ("status", hc_str (s_status_names [r->status])));
        s_record_end (self, r);
    }
    zlistx_destroy (&expired);
}

//  Expired waiting entries: the caller, if still calling that callee,
//  hears decline (B1); a cancelled entry just goes
static void
s_sweep_waiting (p2p_calls_t *self, int64_t now)
{
    zlistx_t *expired = zlistx_new ();
    zlistx_set_destructor (expired, (zlistx_destructor_fn *) zstr_free);
    for (wait_t *entry = (wait_t *) zhashx_first (self->waiting); entry;
         entry = (wait_t *) zhashx_next (self->waiting))
        if (entry->expires <= now)
            zlistx_add_end (expired,
                            strdup ((const char *) zhashx_cursor (self->waiting)));
    for (const char *callee = (const char *) zlistx_first (expired); callee;
         callee = (const char *) zlistx_next (expired)) {
        wait_t *entry = (wait_t *) zhashx_lookup (self->waiting, callee);
        user_t *caller = entry->cancel ? NULL
                       : s_user (self, s_text (&entry->caller));
        record_t *calling = caller ? s_active (caller) : NULL;
        HC_LOG (self->sink.log, HC_LOG_INFO, "p2p.waiting_expired",
                hc_field_str ("from", s_text (&entry->caller)),
                hc_field_str ("to", hc_str (callee)));
        if (calling && calling->status == ST_CALLING
        &&  s_text_is (&calling->partner, hc_str (callee))) {
            p2p_frame_t frame;
            p2p_frame_init (&frame, "decline");
            s_send_user (self, caller, &frame);
            s_set_status (self, calling, ST_ENDED);
        }
        zhashx_delete (self->waiting, callee);
    }
    zlistx_destroy (&expired);
}

void
p2p_calls_tick (p2p_calls_t *self, p2p_now_t now)
{
    s_expire_grace (self, now.mono_ms);
    if (self->next_sweep && now.mono_ms >= self->next_sweep) {
        s_sweep_waiting (self, now.mono_ms);
        self->next_sweep = zhashx_size (self->waiting)
                         ? now.mono_ms + self->cfg.waiting_sweep_ms : 0;
    }
}

int64_t
p2p_calls_next_deadline (p2p_calls_t *self)
{
    int64_t next = self->next_sweep ? self->next_sweep : -1;
    if (self->detached && (next < 0 || self->grace_next < next))
        next = self->grace_next;
    return next;
}

size_t
p2p_calls_user_count (p2p_calls_t *self)
{
    return zhashx_size (self->users);
}

size_t
p2p_calls_waiting_count (p2p_calls_t *self)
{
    return zhashx_size (self->waiting);
}
