/*  sig_rooms.c - the /signal dialect's state: rooms, members, queued frames

    Rooms are found by name (zhashx), memberships by connection id. Each
    queued frame sits in two lists: its room's queue (delivery order) and
    one global list in arrival order, which is also expiry order because
    every frame gets the same time to live; expiry pops its head.
*/
#include "sig_rooms.h"
#include "../common/idmap.h"
#include "../common/sig_errors.h"

#include <assert.h>
#include <inttypes.h>

typedef struct _room_t room_t;
typedef struct _qentry_t qentry_t;

//  A connection's membership; exists only while the connection is joined
typedef struct {
    uint64_t id;                //  connection id, key of self->conns
    room_t *room;               //  the room it joined
    size_t user_len;
    char user [];               //  the name it joined under, in the block
} member_t;

struct _qentry_t {
    qentry_t *prev, *next;      //  in the room's queue
    qentry_t *older, *newer;    //  in the global list
    room_t *room;               //  the room it waits in
    uint64_t sender;            //  connection that sent it
    msg_sig_op_t op;            //  offer, answer or candidate
    int64_t expires;            //  monotonic ms
    size_t bytes;               //  counted against the bounds
    hc_str_t from, to, payload; //  point into data
    char data [];
};

struct _room_t {
    char *name;                 //  key of self->rooms (in the room's block)
    size_t name_len;
    member_t **members;         //  in join order
    size_t members_n;
    size_t members_cap;         //  slots in members
    qentry_t *head, *tail;      //  queued frames, oldest first
    size_t queued;              //  frames in the queue
    size_t queued_bytes;        //  bytes in the queue
};

struct _sig_rooms_t {
    sig_rooms_cfg_t cfg;        //  bounds and time to live
    rooms_sink_t sink;          //  where frames and log records go
    zhashx_t *rooms;            //  name -> room_t
    zhashx_t *members;          //  connection id -> member_t
    qentry_t *oldest, *newest;  //  every queued frame, in arrival order
    size_t queued_total;        //  frames queued over all rooms
    size_t queued_bytes_total;  //  bytes queued over all rooms
    uint64_t *targets;          //  scratch: recipients of one relay
    char key [SIG_NAME_MAX + 1];    //  scratch: NUL-terminated room name
};

//  ---------------------------------------------------------------------
//  Output helpers

static void
s_error (sig_rooms_t *self, uint64_t conn, const char *code, const char *text)
{
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("error")),
        hc_field_str ("message", hc_str (text)),
        hc_field_str ("code", hc_str (code)),
    };
    self->sink.deliver (self->sink.ctx, &conn, 1, fields, 3);
    char hex [17];
    hc_conn_hex (conn, hex);
    HC_EVENT_ERROR (self->sink.log, HC_LOG_INFO, "signal.refused",
                    hc_field_str ("conn", hc_str (hex)),
                    hc_field_str ("code", hc_str (code)));
}

//  {"type":T,"room":R,"from":F,"sdp"|"candidate":payload}
static void
s_send_signal (sig_rooms_t *self, const uint64_t *conns, size_t conns_n,
               msg_sig_op_t op, room_t *room, hc_str_t from, hc_str_t payload)
{
    hc_field_t fields [] = {
        hc_field_str ("type", hc_str (msg_sig_op_name (op))),
        hc_field_str ("room", (hc_str_t){room->name, room->name_len}),
        hc_field_str ("from", from),
        hc_field_raw (op == MSG_SIG_CANDIDATE ? "candidate" : "sdp", payload),
    };
    self->sink.deliver (self->sink.ctx, conns, conns_n, fields, 4);
}

//  One log line (and event) per relay attempt: never the payload, only its
//  size
static void
s_log_relay (sig_rooms_t *self, hc_log_level_t level, const char *event,
             msg_sig_op_t op, room_t *room, hc_str_t from, hc_str_t to,
             size_t size, const hc_field_t *extra)
{
    if (!hc_log_wants (self->sink.log, level, "", event))
        return;
    hc_field_t fields [6] = {
        hc_field_str ("type", hc_str (msg_sig_op_name (op))),
        hc_field_str ("room", (hc_str_t){room->name, room->name_len}),
        hc_field_str ("from", from),
        hc_field_int ("size", (int64_t) size),
    };
    size_t n = 4;
    if (hc_str_present (to))
        fields [n++] = hc_field_str ("to", to);
    if (extra)
        fields [n++] = *extra;
    hc_log_publish (self->sink.log, level, "", event, fields, n);
}

//  ---------------------------------------------------------------------
//  Rooms

static room_t *
s_room_lookup (sig_rooms_t *self, hc_str_t name)
{
    if (name.len > SIG_NAME_MAX)
        return NULL;
    memcpy (self->key, name.ptr, name.len);
    self->key [name.len] = 0;
    return (room_t *) zhashx_lookup (self->rooms, self->key);
}

static room_t *
s_room_new (sig_rooms_t *self, hc_str_t name)
{
    //  Name in the block, slots grow (most rooms hold two: docs/performance.md)
    room_t *room = (room_t *) zmalloc (sizeof (room_t) + name.len + 1);
    room->name = (char *) (room + 1);
    memcpy (room->name, name.ptr, name.len);
    room->name_len = name.len;
    int rc = zhashx_insert (self->rooms, room->name, room);
    assert (rc == 0);
    (void) rc;
    return room;
}

//  A free member slot in room (it has fewer than room_max_members)
static void
s_room_make_space (sig_rooms_t *self, room_t *room)
{
    if (room->members_n < room->members_cap)
        return;
    size_t cap = room->members_cap ? room->members_cap * 2 : 2;
    room->members_cap = MIN (cap, self->cfg.room_max_members);
    member_t **members = (member_t **) zmalloc (room->members_cap
                                                * sizeof (member_t *));
    if (room->members_n)
        memcpy (members, room->members, room->members_n * sizeof (member_t *));
    free (room->members);
    room->members = members;
}

//  A room lives while it has members or queued frames
static void
s_room_release_if_empty (sig_rooms_t *self, room_t *room)
{
    if (room->members_n || room->head)
        return;
    zhashx_delete (self->rooms, room->name);
    free (room->members);
    free (room);
}

static member_t *
s_room_find_user (room_t *room, hc_str_t user)
{
    for (size_t i = 0; i < room->members_n; i++)
        if (hc_str_eq (user, (hc_str_t){room->members [i]->user,
                                        room->members [i]->user_len}))
            return room->members [i];
    return NULL;
}

static hc_str_t
s_member_user (const member_t *member)
{
    return (hc_str_t){member->user, member->user_len};
}

//  ---------------------------------------------------------------------
//  Queue

static void
s_queue_unlink (sig_rooms_t *self, qentry_t *entry)
{
    room_t *room = entry->room;
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        room->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        room->tail = entry->prev;
    if (entry->older)
        entry->older->newer = entry->newer;
    else
        self->oldest = entry->newer;
    if (entry->newer)
        entry->newer->older = entry->older;
    else
        self->newest = entry->older;
    room->queued--;
    room->queued_bytes -= entry->bytes;
    self->queued_total--;
    self->queued_bytes_total -= entry->bytes;
}

//  Removes a queued frame, logging why, and frees it
static void
s_queue_drop (sig_rooms_t *self, qentry_t *entry, const char *event,
              const char *reason)
{
    s_queue_unlink (self, entry);
    hc_field_t why = hc_field_str ("reason", hc_str (reason));
    s_log_relay (self, HC_LOG_INFO, event, entry->op, entry->room, entry->from,
                 entry->to, entry->payload.len, reason ? &why : NULL);
    free (entry);
}

static void
s_enqueue (sig_rooms_t *self, room_t *room, uint64_t sender, msg_sig_op_t op,
           hc_str_t from, hc_str_t to, hc_str_t payload, int64_t now)
{
    size_t bytes = from.len + to.len + payload.len;
    const char *full = NULL;
    if (room->queued >= self->cfg.queue_max_frames)
        full = "room_queue_frames";
    else
    if (room->queued_bytes + bytes > self->cfg.queue_max_bytes)
        full = "room_queue_bytes";
    else
    if (self->queued_bytes_total + bytes > self->cfg.queue_total_bytes)
        full = "total_queue_bytes";
    if (full) {
        //  The newest frame goes, so that an offer queued first survives
        hc_field_t why = hc_field_str ("reason", hc_str (full));
        s_log_relay (self, HC_LOG_WARN, "relay.dropped", op, room, from, to,
                     payload.len, &why);
        return;
    }
    qentry_t *entry = (qentry_t *) zmalloc (sizeof (qentry_t) + bytes);
    entry->room = room;
    entry->sender = sender;
    entry->op = op;
    entry->expires = now + self->cfg.queue_ttl_ms;
    entry->bytes = bytes;
    char *data = entry->data;
    memcpy (data, from.ptr, from.len);
    entry->from = (hc_str_t){data, from.len};
    data += from.len;
    if (hc_str_present (to)) {
        memcpy (data, to.ptr, to.len);
        entry->to = (hc_str_t){data, to.len};
        data += to.len;
    }
    memcpy (data, payload.ptr, payload.len);
    entry->payload = (hc_str_t){data, payload.len};

    entry->prev = room->tail;
    if (room->tail)
        room->tail->next = entry;
    else
        room->head = entry;
    room->tail = entry;
    entry->older = self->newest;
    if (self->newest)
        self->newest->newer = entry;
    else
        self->oldest = entry;
    self->newest = entry;
    room->queued++;
    room->queued_bytes += bytes;
    self->queued_total++;
    self->queued_bytes_total += bytes;
    s_log_relay (self, HC_LOG_INFO, "relay.queued", op, room, from, to,
                 payload.len, NULL);
}

//  Hands a joiner every queued frame meant for it, in order
static void
s_queue_deliver (sig_rooms_t *self, room_t *room, member_t *joiner,
                 int64_t now)
{
    hc_str_t user = s_member_user (joiner);
    qentry_t *entry = room->head;
    while (entry) {
        qentry_t *next = entry->next;
        if (entry->expires <= now)
            s_queue_drop (self, entry, "relay.expired", NULL);
        else
        if (!hc_str_eq (entry->from, user)
        &&  (!hc_str_present (entry->to) || hc_str_eq (entry->to, user))) {
            s_send_signal (self, &joiner->id, 1, entry->op, room, entry->from,
                           entry->payload);
            s_queue_drop (self, entry, "relay.delivered", NULL);
        }
        entry = next;
    }
}

//  Drops what a sender queued, when its membership ends
static void
s_queue_drop_sender (sig_rooms_t *self, room_t *room, uint64_t sender,
                     const char *reason)
{
    qentry_t *entry = room->head;
    while (entry) {
        qentry_t *next = entry->next;
        if (entry->sender == sender)
            s_queue_drop (self, entry, "relay.dropped", reason);
        entry = next;
    }
}

//  ---------------------------------------------------------------------
//  Membership

static void
s_log_membership (sig_rooms_t *self, const char *event, member_t *member,
                  const char *reason)
{
    char hex [17];
    hc_conn_hex (member->id, hex);
    HC_EVENT (self->sink.log, HC_LOG_INFO, event,
              hc_field_str ("room", (hc_str_t){member->room->name,
                                               member->room->name_len}),
              hc_field_str ("user", s_member_user (member)),
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("reason", hc_str (reason)));
}

static void
s_member_free (sig_rooms_t *self, member_t *member)
{
    zhashx_delete (self->members, &member->id);
    free (member);
}

//  Ends a membership: out of the room, its queued frames dropped
static void
s_member_leave (sig_rooms_t *self, member_t *member, const char *reason)
{
    room_t *room = member->room;
    s_log_membership (self, "room.leave", member, reason);
    for (size_t i = 0; i < room->members_n; i++)
        if (room->members [i] == member) {
            memmove (&room->members [i], &room->members [i + 1],
                     (room->members_n - i - 1) * sizeof (member_t *));
            room->members_n--;
            break;
        }
    s_queue_drop_sender (self, room, member->id, reason);
    s_member_free (self, member);
    s_room_release_if_empty (self, room);
}

static void
s_join (sig_rooms_t *self, const msg_sig_t *cmd, int64_t now)
{
    assert (hc_str_present (cmd->room) && hc_str_present (cmd->user));
    if (cmd->room.len > SIG_NAME_MAX || cmd->user.len > SIG_NAME_MAX)
        return;                 //  the gateway never sends these
    member_t *current = (member_t *) zhashx_lookup (self->members, &cmd->conn);
    room_t *room = s_room_lookup (self, cmd->room);
    if (current && current->room == room
    &&  hc_str_eq (s_member_user (current), cmd->user))
        return;                 //  already there under that name

    //  Check that the join can happen before leaving anything
    member_t *holder = room ? s_room_find_user (room, cmd->user) : NULL;
    if (room && !holder && room->members_n >= self->cfg.room_max_members
    &&  !(current && current->room == room)) {
        s_error (self, cmd->conn, SIG_E_ROOM_FULL, SIG_T_ROOM_FULL);
        return;
    }
    if (!room && zhashx_size (self->rooms) >= self->cfg.max_rooms
    &&  !(current && current->room->members_n == 1 && !current->room->head)) {
        s_error (self, cmd->conn, SIG_E_TOO_MANY_ROOMS, SIG_T_TOO_MANY_ROOMS);
        return;
    }
    if (current) {
        s_member_leave (self, current, "rejoin");
        room = s_room_lookup (self, cmd->room);     //  may have been released
        holder = room ? s_room_find_user (room, cmd->user) : NULL;
    }
    if (!room)
        room = s_room_new (self, cmd->room);

    member_t *member = (member_t *) zmalloc (sizeof (member_t)
                                             + cmd->user.len + 1);
    member->id = cmd->conn;
    member->room = room;
    memcpy (member->user, cmd->user.ptr, cmd->user.len);
    member->user_len = cmd->user.len;
    int rc = zhashx_insert (self->members, &member->id, member);
    assert (rc == 0);
    (void) rc;

    if (holder) {
        //  Takeover (a reloaded tab): the newcomer keeps the holder's place
        for (size_t i = 0; i < room->members_n; i++)
            if (room->members [i] == holder)
                room->members [i] = member;
        uint64_t replaced = holder->id;
        s_log_membership (self, "room.replaced", holder, "takeover");
        s_queue_drop_sender (self, room, holder->id, "replaced");
        s_member_free (self, holder);
        s_error (self, replaced, SIG_E_REPLACED, SIG_T_REPLACED);
    }
    else {
        s_room_make_space (self, room);
        room->members [room->members_n++] = member;
    }
    s_log_membership (self, "room.join", member, holder ? "takeover" : "join");
    s_queue_deliver (self, room, member, now);
}

static void
s_leave (sig_rooms_t *self, const msg_sig_t *cmd)
{
    member_t *member = (member_t *) zhashx_lookup (self->members, &cmd->conn);
    if (!member) {
        //  Already out: leaving is idempotent, and an error frame would
        //  end the call in the real client
        char hex [17];
        hc_conn_hex (cmd->conn, hex);
        HC_LOG (self->sink.log, HC_LOG_DEBUG, "room.leave_ignored",
                hc_field_str ("conn", hc_str (hex)));
        return;
    }
    if ((hc_str_present (cmd->room)
         && !hc_str_eq (cmd->room, (hc_str_t){member->room->name,
                                               member->room->name_len}))
    ||  (hc_str_present (cmd->user)
         && !hc_str_eq (cmd->user, s_member_user (member)))) {
        s_error (self, cmd->conn, SIG_E_NOT_JOINED, SIG_T_OTHER_ROOM);
        return;
    }
    s_member_leave (self, member, "leave");
}

static void
s_relay (sig_rooms_t *self, const msg_sig_t *cmd, int64_t now)
{
    member_t *member = (member_t *) zhashx_lookup (self->members, &cmd->conn);
    if (!member) {
        s_error (self, cmd->conn, SIG_E_NOT_JOINED, SIG_T_NOT_JOINED);
        return;
    }
    room_t *room = member->room;
    if (hc_str_present (cmd->room)
    &&  !hc_str_eq (cmd->room, (hc_str_t){room->name, room->name_len})) {
        s_error (self, cmd->conn, SIG_E_NOT_JOINED, SIG_T_OTHER_ROOM);
        return;
    }
    assert (hc_str_present (cmd->payload));
    hc_str_t from = s_member_user (member);
    size_t n = 0;
    for (size_t i = 0; i < room->members_n; i++) {
        member_t *other = room->members [i];
        if (other == member)
            continue;           //  never echoed to the sender
        if (hc_str_present (cmd->to)
        &&  !hc_str_eq (cmd->to, s_member_user (other)))
            continue;
        self->targets [n++] = other->id;
    }
    if (n == 0) {
        s_enqueue (self, room, cmd->conn, cmd->op, from, cmd->to, cmd->payload,
                   now);
        return;
    }
    s_send_signal (self, self->targets, n, cmd->op, room, from, cmd->payload);
    hc_field_t recipients = hc_field_int ("recipients", (int64_t) n);
    s_log_relay (self, HC_LOG_INFO, "relay.forwarded", cmd->op, room, from,
                 cmd->to, cmd->payload.len, &recipients);
}

//  ---------------------------------------------------------------------
//  Public API

sig_rooms_t *
sig_rooms_new (const sig_rooms_cfg_t *cfg, const rooms_sink_t *sink)
{
    assert (cfg->room_max_members >= 2);
    sig_rooms_t *self = (sig_rooms_t *) zmalloc (sizeof (sig_rooms_t));
    self->cfg = *cfg;
    self->sink = *sink;
    self->rooms = zhashx_new ();
    zhashx_set_key_duplicator (self->rooms, NULL);
    zhashx_set_key_destructor (self->rooms, NULL);
    zhashx_set_destructor (self->rooms, NULL);
    self->members = hc_idmap_new ();
    self->targets = (uint64_t *) zmalloc (cfg->room_max_members
                                          * sizeof (uint64_t));
    return self;
}

void
sig_rooms_destroy (sig_rooms_t **self_p)
{
    assert (self_p);
    sig_rooms_t *self = *self_p;
    if (!self)
        return;
    while (self->oldest) {
        qentry_t *entry = self->oldest;
        s_queue_unlink (self, entry);
        free (entry);
    }
    for (room_t *room = (room_t *) zhashx_first (self->rooms); room;
         room = (room_t *) zhashx_next (self->rooms)) {
        for (size_t i = 0; i < room->members_n; i++)
            free (room->members [i]);
        free (room->members);
        free (room);
    }
    zhashx_destroy (&self->rooms);
    zhashx_destroy (&self->members);
    free (self->targets);
    free (self);
    *self_p = NULL;
}

void
sig_rooms_command (sig_rooms_t *self, const msg_sig_t *cmd, int64_t now)
{
    switch (cmd->op) {
        case MSG_SIG_JOIN:
            s_join (self, cmd, now);
            break;
        case MSG_SIG_LEAVE:
            s_leave (self, cmd);
            break;
        case MSG_SIG_OFFER:
        case MSG_SIG_ANSWER:
        case MSG_SIG_CANDIDATE:
            s_relay (self, cmd, now);
            break;
        case MSG_SIG_OP_COUNT:
            break;
    }
}

void
sig_rooms_close (sig_rooms_t *self, uint64_t conn, int64_t now)
{
    (void) now;
    member_t *member = (member_t *) zhashx_lookup (self->members, &conn);
    if (member)
        s_member_leave (self, member, "disconnect");
}

void
sig_rooms_expire (sig_rooms_t *self, int64_t now)
{
    while (self->oldest && self->oldest->expires <= now) {
        room_t *room = self->oldest->room;
        s_queue_drop (self, self->oldest, "relay.expired", NULL);
        s_room_release_if_empty (self, room);
    }
}

int64_t
sig_rooms_next_deadline (const sig_rooms_t *self)
{
    return self->oldest ? self->oldest->expires : -1;
}

size_t
sig_rooms_room_count (const sig_rooms_t *self)
{
    return zhashx_size (self->rooms);
}

size_t
sig_rooms_member_count (const sig_rooms_t *self)
{
    return zhashx_size (self->members);
}

size_t
sig_rooms_queued_frames (const sig_rooms_t *self)
{
    return self->queued_total;
}

size_t
sig_rooms_queued_bytes (const sig_rooms_t *self)
{
    return self->queued_bytes_total;
}
