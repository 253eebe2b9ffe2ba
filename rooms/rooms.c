/*  rooms.c - the actor that owns all signaling state

    HWM policy: deliveries go out with ZMQ_DONTWAIT on a ROUTER with
    ROUTER_MANDATORY, so a gateway that is gone or not reading makes the
    send fail at once instead of blocking; the frame is dropped and counted
    (and logged at most once a second). Rooms never waits on a gateway, and
    gateways never wait on rooms, so the two cannot deadlock.

    Every message is checked like client input: exactly three parts, a known
    verb, a body the codec accepts, and a connection id that belongs to the
    gateway that sent it and that it opened. Anything else is logged and
    dropped.

    Gateways say HELLO every LINK_HEARTBEAT and rooms answers WELCOME with
    its epoch (new at every start, so a gateway can tell a restart). A
    gateway silent for LINK_TIMEOUT is gone: its connections close through
    s_conn_closed, the path of a CLOSE message (gateways.h).
*/
#include "rooms.h"
#include "gateways.h"
#include "p2p_calls.h"
#include "sig_rooms.h"
#include "../common/batch.h"
#include "../common/config.h"
#include "../common/deadline.h"
#include "../common/endpoints.h"
#include "../common/link.h"
#include "../common/link_monitor.h"
#include "../common/log.h"
#include "../common/sock.h"

#include <inttypes.h>
#include <sys/random.h>

#define DRAIN_BATCH 1024        //  messages per wakeup before polling again
#define MAX_GATEWAYS 64         //  gateways one delivery can span

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, $TERM
    zsock_t *router;            //  commands in, deliveries out
    hc_batch_t out;             //  deliveries not yet handed over
    zsock_t *pub;               //  event bus publisher
    zpoller_t *poller;          //  pipe and router
    hc_link_monitor_t *monitor; //  refused handshakes on a tcp endpoint
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  structured logging through pub
    msg_enc_t *enc;             //  reused delivery encoder
    msg_dec_t *dec;             //  reused command decoder
    sig_rooms_t *signal;        //  /signal state
    p2p_calls_t *p2p;           //  p2p dialect state
    gateways_t *gateways;       //  who talks to us, and their connections
    uint64_t epoch;             //  this run of rooms, told in WELCOME
    char endpoint [HC_CFG_TEXT];    //  rooms endpoint as bound
    uint64_t *group;            //  scratch: one gateway's share of a delivery
    bool started;               //  router bound
    bool terminated;            //  $TERM received
    uint64_t send_failed;       //  deliveries no gateway took
    uint64_t send_failed_logged;    //  ...as of the last log record
    int64_t send_failed_log_at; //  when that record went out (mono ms)
} self_t;

void
rooms_gateway_routing_id (uint64_t conn, char id [16])
{
    snprintf (id, 16, "gw-%08" PRIx32, hc_conn_gateway (conn));
}

//  The instance number a routing id names, or 0 if it names none
static uint32_t
s_gateway_of (zmq_msg_t *identity)
{
    const char *id = (const char *) zmq_msg_data (identity);
    if (zmq_msg_size (identity) != 11 || memcmp (id, "gw-", 3) != 0)
        return 0;
    uint32_t gateway = 0;
    for (int i = 3; i < 11; i++) {
        char c = id [i];
        int digit = c >= '0' && c <= '9' ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return 0;
        gateway = gateway << 4 | (uint32_t) digit;
    }
    return gateway;
}

//  ---------------------------------------------------------------------
//  Output to gateways

static void
s_note_send_failure (self_t *self)
{
    self->send_failed++;
    int64_t now = zclock_mono ();
    if (now - self->send_failed_log_at >= 1000) {
        int64_t count = (int64_t) (self->send_failed
                                   - self->send_failed_logged);
        HC_EVENT_ERROR (self->log, HC_LOG_WARN, "deliver.dropped",
                        hc_field_int ("count", count),
                        hc_field_str ("why",
                                      hc_str (zmq_strerror (zmq_errno ()))));
        self->send_failed_logged = self->send_failed;
        self->send_failed_log_at = now;
    }
}

//  [verb][encoded body] for the gateway of conn, never blocking. It joins
//  the message that goes to that gateway before rooms waits again, so a
//  gateway wakes once per batch of commands, not once per delivery.
static void
s_send (self_t *self, uint64_t conn, const char *verb)
{
    char id [16];
    rooms_gateway_routing_id (conn, id);
    if (hc_batch_add (&self->out, id, verb, msg_enc_data (self->enc),
                      msg_enc_size (self->enc)))
        s_note_send_failure (self);
}

//  One OUT per gateway that holds some of the recipients
static void
s_deliver (void *ctx, const uint64_t *conns, size_t conns_n,
           const hc_field_t *fields, size_t fields_n)
{
    self_t *self = (self_t *) ctx;
    uint32_t done [MAX_GATEWAYS];
    size_t done_n = 0;
    for (size_t i = 0; i < conns_n; i++) {
        uint32_t gateway = hc_conn_gateway (conns [i]);
        bool seen = false;
        for (size_t d = 0; d < done_n; d++)
            seen |= done [d] == gateway;
        if (seen)
            continue;
        size_t n = 0;
        for (size_t k = i; k < conns_n; k++)
            if (hc_conn_gateway (conns [k]) == gateway)
                self->group [n++] = conns [k];
        msg_out_t out = {self->group, n, fields, fields_n};
        if (msg_enc_out (self->enc, &out) == 0)
            s_send (self, conns [i], MSG_OUT);
        else
            HC_LOG0 (self->log, HC_LOG_ERROR, "deliver.unencodable");
        if (done_n < MAX_GATEWAYS)
            done [done_n++] = gateway;
    }
}

static void
s_kick (void *ctx, uint64_t conn, uint16_t code, const char *reason)
{
    self_t *self = (self_t *) ctx;
    msg_kick_t kick = {conn, code, hc_str (reason)};
    if (msg_enc_kick (self->enc, &kick) == 0)
        s_send (self, conn, MSG_KICK);
}

//  ---------------------------------------------------------------------
//  Input from gateways

static void
s_malformed (self_t *self, const char *verb, const char *why)
{
    HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.malformed",
                    hc_field_str ("verb", hc_str (verb)),
                    hc_field_str ("why", hc_str (why)));
}

//  A gateway may only speak for its own connections
static bool
s_owned (uint32_t gateway, uint64_t conn)
{
    return hc_conn_gateway (conn) == gateway;
}

//  ...and only for those it opened
static bool
s_open (self_t *self, uint32_t gateway, uint64_t conn, const char *verb)
{
    if (!s_owned (gateway, conn))
        s_malformed (self, verb, "connection of another gateway");
    else
    if (!gateways_lookup (self->gateways, conn))
        s_malformed (self, verb, "connection not open");
    else
        return true;
    return false;
}

static p2p_now_t
s_p2p_now (int64_t mono_ms)
{
    return (p2p_now_t){mono_ms, zclock_time ()};
}

//  The one path a connection's end takes, whether its gateway said CLOSE
//  or went silent: every dialect forgets the connection here
static void
s_conn_closed (self_t *self, uint64_t conn, int64_t now)
{
    gateways_close (self->gateways, conn);
    sig_rooms_close (self->signal, conn, now);
    p2p_calls_close (self->p2p, conn, s_p2p_now (now));
}

//  A gateway is gone (silent, or said BYE): every connection it still had
//  closes exactly as if it had sent CLOSE for each
static void
s_gateway_closed (self_t *self, uint32_t gateway, const char *reason,
                  int64_t now)
{
    char gw_hex [17], conn_hex [17];
    hc_gateway_hex (gateway, gw_hex);
    size_t count = gateways_conn_count (self->gateways, gateway);
    const gateways_conn_t *conn;
    while ((conn = gateways_any_conn (self->gateways, gateway))) {
        hc_conn_hex (conn->conn, conn_hex);
        HC_EVENT (self->log, HC_LOG_INFO, "conn.close",
                  hc_field_str ("conn", hc_str (conn_hex)),
                  hc_field_str ("gateway", hc_str (gw_hex)),
                  hc_field_str ("dialect", hc_str (hc_dialect_name (
                                                   conn->dialect))),
                  hc_field_str ("peer", hc_str (conn->peer)),
                  hc_field_str ("reason", hc_str (reason)));
        s_conn_closed (self, conn->conn, now);
    }
    gateways_forget (self->gateways, gateway);
    HC_EVENT (self->log, streq (reason, "stopped") ? HC_LOG_INFO : HC_LOG_WARN,
              "gateway.down", hc_field_str ("gateway", hc_str (gw_hex)),
              hc_field_int ("connections", (int64_t) count),
              hc_field_str ("reason", hc_str (reason)));
}

static void
s_welcome (self_t *self, uint32_t gateway, bool fresh)
{
    msg_welcome_t welcome = {self->epoch, fresh, {
        sig_rooms_room_count (self->signal),
        sig_rooms_member_count (self->signal),
        sig_rooms_queued_frames (self->signal),
        sig_rooms_queued_bytes (self->signal),
        p2p_calls_user_count (self->p2p),
        p2p_calls_linked_count (self->p2p),
        p2p_calls_waiting_count (self->p2p),
        p2p_calls_grace_count (self->p2p)}};
    if (msg_enc_welcome (self->enc, &welcome) == 0)
        s_send (self, (uint64_t) gateway << 32, MSG_WELCOME);
}

//  Every message proves its gateway alive; a new gateway is welcomed
static bool
s_heard (self_t *self, uint32_t gateway, int64_t now)
{
    int rc = gateway ? gateways_heard (self->gateways, gateway, now) : -1;
    if (rc == 1) {
        char gw_hex [17];
        hc_gateway_hex (gateway, gw_hex);
        HC_EVENT (self->log, HC_LOG_INFO, "gateway.up",
                  hc_field_str ("gateway", hc_str (gw_hex)));
        s_welcome (self, gateway, true);
    }
    return rc >= 0;
}

//  One handler per verb: the gateway it came from (heard), the body
typedef void (handler_fn) (self_t *self, uint32_t gateway, const char *verb,
                           const void *body, size_t size, int64_t now);

static void
s_on_p2p (self_t *self, uint32_t gateway, const char *verb, const void *body,
          size_t size, int64_t now)
{
    msg_p2p_t cmd;
    if (msg_dec_p2p (self->dec, body, size, &cmd))
        s_malformed (self, verb, msg_dec_error (self->dec));
    else
    if (s_open (self, gateway, cmd.conn, verb))
        p2p_calls_command (self->p2p, &cmd, s_p2p_now (now));
}

static void
s_on_sig (self_t *self, uint32_t gateway, const char *verb, const void *body,
          size_t size, int64_t now)
{
    msg_sig_t cmd;
    if (msg_dec_sig (self->dec, body, size, &cmd))
        s_malformed (self, verb, msg_dec_error (self->dec));
    else
    if (s_open (self, gateway, cmd.conn, verb))
        sig_rooms_command (self->signal, &cmd, now);
}

static void
s_on_close (self_t *self, uint32_t gateway, const char *verb,
            const void *body, size_t size, int64_t now)
{
    msg_close_t close;
    if (msg_dec_close (self->dec, body, size, &close))
        s_malformed (self, verb, msg_dec_error (self->dec));
    else
    if (!s_owned (gateway, close.conn))
        s_malformed (self, verb, "connection of another gateway");
    else
        s_conn_closed (self, close.conn, now);
}

static void
s_on_open (self_t *self, uint32_t gateway, const char *verb, const void *body,
           size_t size, int64_t now)
{
    (void) now;
    msg_open_t open;
    if (msg_dec_open (self->dec, body, size, &open))
        s_malformed (self, verb, msg_dec_error (self->dec));
    else
    if (!s_owned (gateway, open.conn))
        s_malformed (self, verb, "connection of another gateway");
    else
    if (gateways_open (self->gateways, open.conn, open.dialect,
                       open.peer))
        s_malformed (self, verb, "connection already open");
}

//  HELLO and BYE: the gateway names itself in the body too
static void
s_on_hello (self_t *self, uint32_t gateway, const char *verb,
            const void *body, size_t size, int64_t now)
{
    msg_hello_t hello;
    if (msg_dec_hello (self->dec, body, size, &hello))
        s_malformed (self, verb, msg_dec_error (self->dec));
    else
    if (hello.gateway != gateway)
        s_malformed (self, verb, "another gateway's name");
    else
    if (streq (verb, MSG_BYE))
        s_gateway_closed (self, gateway, "stopped", now);
    else
        s_welcome (self, gateway, false);
}

static const struct {
    const char *verb;
    handler_fn *handler;
} s_handlers [] = {
    {MSG_P2P, s_on_p2p}, {MSG_SIG, s_on_sig}, {MSG_CLOSE, s_on_close},
    {MSG_OPEN, s_on_open}, {MSG_HELLO, s_on_hello}, {MSG_BYE, s_on_hello}
};

static void
s_dispatch (self_t *self, zmq_msg_t *identity, zmq_msg_t *verb_msg,
            zmq_msg_t *body_msg)
{
    const char *verb = (const char *) zmq_msg_data (verb_msg);
    size_t verb_len = zmq_msg_size (verb_msg);
    int64_t now = zclock_mono ();
    uint32_t gateway = s_gateway_of (identity);
    if (!s_heard (self, gateway, now)) {
        char shown [8] = "";    //  what it said, if short enough to show
        if (verb_len < sizeof (shown))
            memcpy (shown, verb, verb_len);
        s_malformed (self, shown, "not a gateway");
        return;
    }
    for (size_t i = 0; i < sizeof (s_handlers) / sizeof (s_handlers [0]); i++)
        if (strlen (s_handlers [i].verb) == verb_len
        &&  memcmp (s_handlers [i].verb, verb, verb_len) == 0) {
            s_handlers [i].handler (self, gateway, s_handlers [i].verb,
                                    zmq_msg_data (body_msg),
                                    zmq_msg_size (body_msg), now);
            return;
        }
    s_malformed (self, "?", "unknown verb");
}

//  Reads one message, [identity] then [verb][body] pairs (a gateway's
//  batch, common/batch.h); a message of another shape is dropped from
//  where it goes wrong
static void
s_receive (self_t *self)
{
    zmq_msg_t identity, pair [2];
    zmq_msg_init (&identity);
    zmq_msg_init (&pair [0]);
    zmq_msg_init (&pair [1]);
    bool more = zmq_msg_recv (&identity, zsock_resolve (self->router),
                              ZMQ_DONTWAIT) != -1
             && zmq_msg_more (&identity);
    int n = more ? 2 : 0;
    while (more && (n = hc_sock_recv_pair (self->router, pair, &more)) == 2)
        s_dispatch (self, &identity, &pair [0], &pair [1]);
    if (n < 2 && zmq_msg_size (&identity))
        s_malformed (self, "?", "wrong number of parts");
    zmq_msg_close (&identity);
    hc_sock_close_parts (pair, 2);
}

//  ---------------------------------------------------------------------
//  Actor

static int
s_start (self_t *self)
{
    hc_log_wait_subscribed (self->log, 2000);
    const char *endpoint = self->cfg.rooms_endpoint;
    int rc = hc_link_bind (self->router, endpoint, &self->cfg);
    char *bound = rc == -1 ? NULL : zsock_last_endpoint (self->router);
    snprintf (self->endpoint, sizeof (self->endpoint), "%s",
              bound ? bound : endpoint);
    zstr_free (&bound);
    //  A local gateway links inproc even when the endpoint is tcp
    const char *local = hc_endpoint_rooms (&self->cfg);
    if (rc != -1 && !streq (local, endpoint))
        rc = zsock_bind (self->router, "%s", local);
    if (rc == -1) {
        HC_LOG (self->log, HC_LOG_ERROR, "rooms.bind_failed",
                hc_field_str ("endpoint", hc_str (endpoint)),
                hc_field_str ("why", hc_str (zmq_strerror (zmq_errno ()))));
        return -1;
    }
    //  Refused handshakes on a link endpoint are logged; the monitor goes
    //  first in the poller, so a busy router never holds its events back
    if (!hc_endpoint_is_inproc (endpoint)) {
        self->monitor = hc_link_monitor_new (self->router, "rooms", self->log);
        if (self->monitor)
            zpoller_add (self->poller, hc_link_monitor_sock (self->monitor));
    }
    zpoller_add (self->poller, self->router);
    zpoller_add (self->poller, self->pub);
    self->started = true;
    char epoch [17];
    hc_conn_hex (self->epoch, epoch);
    HC_LOG (self->log, HC_LOG_INFO, "rooms.ready",
            hc_field_str ("endpoint", hc_str (self->endpoint)),
            hc_field_str ("epoch", hc_str (epoch)));
    return 0;
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) {
        self->terminated = true;
        return;
    }
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "$TERM"))
        self->terminated = true;
    else
    if (command && streq (command, "START") && !self->started)
        zsock_send (self->pipe, "i", s_start (self));
    else {
        zsys_error ("rooms: invalid pipe command '%s'", command);
        assert (false);
    }
    zstr_free (&command);
    zmsg_destroy (&msg);
}

static self_t *
s_self_new (zsock_t *pipe, const hc_config_t *cfg)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *cfg;
    self->router = zsock_new (ZMQ_ROUTER);
    self->pub = hc_log_pub_new (hc_endpoint_publish (cfg));
    assert (self->router && self->pub);
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndhwm (self->router, 100000);
    zsock_set_rcvhwm (self->router, 100000);
    zsock_set_linger (self->router, 0);
    hc_batch_init (&self->out, self->router);
    self->poller = zpoller_new (pipe, NULL);
    self->log = hc_log_new (self->pub, "rooms",
                            hc_config_publish_level (cfg));
    hc_log_track (self->log);
    self->gateways = gateways_new (cfg->link_timeout_ms);
    if (getrandom (&self->epoch, sizeof (self->epoch), 0)
        != sizeof (self->epoch))
        self->epoch = (uint64_t) zclock_time () ^ (uint64_t) getpid ();
    self->enc = msg_enc_new ();
    self->dec = msg_dec_new ();
    self->group = (uint64_t *) zmalloc (MSG_MAX_CONNS * sizeof (uint64_t));
    assert (self->poller && self->log && self->enc && self->dec);
    rooms_sink_t sink = {self, s_deliver, s_kick, self->log};
    sig_rooms_cfg_t signal_cfg = {
        (size_t) cfg->room_max_members, (size_t) cfg->max_rooms,
        (size_t) cfg->queue_max_frames, (size_t) cfg->queue_max_bytes,
        (size_t) cfg->queue_total_bytes, cfg->queue_ttl_ms};
    self->signal = sig_rooms_new (&signal_cfg, &sink);
    p2p_calls_cfg_t p2p_cfg = {
        cfg->p2p_waiting_ttl_ms, cfg->p2p_waiting_sweep_ms,
        cfg->p2p_reconnect_grace_ms, (size_t) cfg->p2p_max_users,
        (size_t) cfg->p2p_max_devices, (size_t) cfg->p2p_max_waiting};
    self->p2p = p2p_calls_new (&p2p_cfg, &sink);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    sig_rooms_destroy (&self->signal);
    p2p_calls_destroy (&self->p2p);
    gateways_destroy (&self->gateways);
    hc_batch_close (&self->out);
    zpoller_destroy (&self->poller);
    hc_log_destroy (&self->log);
    msg_enc_destroy (&self->enc);
    msg_dec_destroy (&self->dec);
    free (self->group);
    hc_link_monitor_destroy (&self->monitor);
    zsock_destroy (&self->router);
    zsock_destroy (&self->pub);
    free (self);
    *self_p = NULL;
}

//  How long the poller may sleep: until the next timer of either dialect
//  or the moment the next gateway would count as gone
static int
s_timeout (self_t *self)
{
    int64_t deadline = hc_deadline_earliest (
        hc_deadline_earliest (sig_rooms_next_deadline (self->signal),
                              p2p_calls_next_deadline (self->p2p)),
        gateways_next_deadline (self->gateways));
    int64_t wait = hc_deadline_wait (deadline, zclock_mono ());
    return wait > 60000 ? 60000 : (int) wait;
}

void
rooms_actor (zsock_t *pipe, void *args)
{
    //  Named, so top -H and perf tell the actors apart
    pthread_setname_np (pthread_self (), "hc-rooms");
    self_t *self = s_self_new (pipe, (const hc_config_t *) args);
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller,
                                                   s_timeout (self));
        if (zpoller_terminated (self->poller))
            break;
        if (which == self->pipe)
            s_handle_pipe (self);
        if (which == self->pub)
            hc_log_read_subscriptions (self->log);
        if (self->monitor && which == hc_link_monitor_sock (self->monitor))
            hc_link_monitor_handle (self->monitor);
        int n = 0;
        while (self->started && !self->terminated && n++ < DRAIN_BATCH
               && hc_sock_readable (self->router, &self->terminated))
            s_receive (self);
        int64_t now = zclock_mono ();
        sig_rooms_expire (self->signal, now);
        p2p_calls_tick (self->p2p, s_p2p_now (now));
        uint32_t gone;
        while ((gone = gateways_expired (self->gateways, now)))
            s_gateway_closed (self, gone, "timeout", now);
        hc_batch_flush (&self->out);
    }
    s_self_destroy (&self);
}
