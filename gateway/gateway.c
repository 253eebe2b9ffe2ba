/*  gateway.c - the WebSocket actor

    One thread owns one libev loop (epoll). libwebsockets runs on it as a
    foreign loop; the actor's ZeroMQ sockets are watched by ev_io on their
    ZMQ_FD and drained by an ev_prepare watcher before every sleep, so an
    edge consumed by an lws callback's send is not lost (docs/gateway-loop.md).
    Everything below runs on that thread; nothing here blocks.

    HWM policy: sends to rooms use ZMQ_DONTWAIT. When rooms cannot keep up
    and the DEALER's queue is full, the client frame is dropped and the
    client gets a server_busy error. Deliveries to a client queue in its
    session up to SEND_QUEUE_MAX bytes; a client that lets more pile up is
    disconnected, never waited for.

    Link to rooms (gw_link.h): HELLO every LINK_HEARTBEAT, WELCOME back.
    While rooms does not answer, clients are refused; when it stops
    answering or turns out to have restarted, every client is closed with
    1012 so that it reconnects to a rooms that knows it. The DEALER is
    ZMQ_IMMEDIATE, so nothing queues for a rooms that is not there.
*/
#include "gateway.h"
#include "gw_admission.h"
#include "gw_budget.h"
#include "gw_client.h"
#include "gw_demo.h"
#include "gw_http.h"
#include "gw_ice.h"
#include "gw_json.h"
#include "gw_linger.h"
#include "gw_liveness.h"
#include "gw_link.h"
#include "gw_metrics.h"
#include "gw_p2p.h"
#include "gw_session.h"
#include "gw_signal.h"
#include "gw_tls.h"
#include "gw_trace.h"
#include "../common/batch.h"
#include "../common/config.h"
#include "../common/endpoints.h"
#include "../common/link.h"
#include "../common/idmap.h"
#include "../common/log.h"
#include "../common/origins.h"
#include "../common/sig_errors.h"
#include "../common/sock.h"
#include "../common/tally.h"
#include "../common/utf8.h"

#include <ev.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>

#define DRAIN_BATCH 1024        //  messages per socket per loop turn
#define STOP_GRACE 2.0          //  seconds clients get to take a 1001 close
#define STATS_INTERVAL 60.0     //  seconds between gateway.stats records
#define RX_KEEP_MAX (16 * 1024) //  reassembly memory kept between messages
#define LINK_WAIT_MS 2000       //  START waits this long for rooms at most
#define CLOSE_RESTART 1012      //  WebSocket "service restart"
#define CLOSE_TRY_LATER 1013    //  WebSocket "try again later"
#define EDGE_TICK 0.25          //  seconds between handshake deadline checks
#define LWS_WAKE_AFTER_CLOSE 7.0    //  lws waits 5 s for a close's answer
#define LWS_WAKE_TICKS 4        //  edge ticks between wakes of lws's timers
#define LINGER_MAX 4096         //  sockets lingering at once
#define LINGER_SECONDS 2.0      //  how long one lingers at most

//  Why a handshake was refused; each is logged apart
typedef enum {
    REFUSED_STOPPING,
    REFUSED_ROOMS_UNAVAILABLE,
    REFUSED_MAX_CONNECTIONS,
    REFUSED_MAX_CONNECTIONS_PER_IP,
    REFUSED_NOT_TLS,            //  plain HTTP on the TLS port
    REFUSED_ORIGIN,             //  not in ALLOWED_ORIGINS
    REFUSED_MAX_HANDSHAKES,     //  the oldest handshake made room
    REFUSED_HANDSHAKE_TIMEOUT,
    REFUSED_HEADER_TOO_LARGE,
    REFUSED_REASONS
} refused_t;

static const char *s_refused_names [REFUSED_REASONS] = {
    "stopping", "rooms_unavailable", "max_connections",
    "max_connections_per_ip", "not_tls", "origin", "max_handshakes",
    "handshake_timeout", "header_too_large"
};

//  /metrics shows every reason
_Static_assert (REFUSED_REASONS == sizeof (((gw_metrics_t *) 0)->refused)
                                   / sizeof (gw_metric_labelled_t),
                "gw_metrics_t.refused has a slot per reason");

//  What a refused handshake is told, written whole
static const char *s_refused_status [REFUSED_REASONS] = {
    "503 Service Unavailable", "503 Service Unavailable",
    "503 Service Unavailable", "429 Too Many Requests", "400 Bad Request",
    "403 Forbidden", "503 Service Unavailable", "408 Request Timeout",
    "431 Request Header Fields Too Large"
};

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, $TERM
    zsock_t *rooms;             //  DEALER: commands out, deliveries in
    hc_batch_t to_rooms;        //  this loop turn's commands
    zsock_t *pub;               //  event bus publisher (log records)
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  structured logging through pub
    msg_enc_t *enc;             //  reused command encoder
    msg_dec_t *dec;             //  reused delivery decoder
    struct ev_loop *loop;       //  the loop lws and ZeroMQ share
    ev_io pipe_io;              //  pipe's ZMQ_FD
    ev_io rooms_io;             //  rooms socket's ZMQ_FD
    ev_prepare drain;           //  drains both sockets before each sleep
    ev_idle resume;             //  keeps the loop awake after a capped drain
    ev_timer stop_timer;        //  bounds the wait for closing clients
    ev_timer stats_timer;       //  periodic counters
    struct lws_context *ctx;    //  libwebsockets, once started
    ev_timer liveness_timer;    //  pings idle clients, drops silent ones
    ev_timer heartbeat_timer;   //  p2p: closes connections without PING
    gw_p2p_result_t *p2p;       //  reused reader of p2p frames
    ev_io pub_io;               //  publisher's ZMQ_FD: subscriptions
    uint64_t rooms_checked_at;  //  to_rooms.messages at rooms' last check
    uint64_t published;         //  log messages sent at pub's last check
    ev_timer link_timer;        //  HELLO to rooms, checks its answers
    gw_link_t link;             //  is rooms there, and which run of it
    gw_trace_t *trace;          //  TRACE file, or NULL
    zhashx_t *sessions;         //  connection id -> gw_session_t
    gw_admission_t *admission;  //  every socket, from accept
    gw_budget_t budget;         //  bytes held for clients, all together
    gw_linger_t *linger;        //  sockets closed so the last words arrive
    ev_timer edge_timer;        //  handshake deadlines; wakes lws's timers
    double lws_wake_until;      //  lws has timers of its own until then
    unsigned edge_ticks;        //  counts to LWS_WAKE_TICKS
    int accepted_fd;            //  socket lws is adopting now (-1: none)
    char accepted_peer [HC_ADDR_TEXT];  //  its address ("": a proxy's)
    gw_ticket_t *reading;       //  pending socket lws is reading now
    hc_netlist_t proxies;       //  TRUSTED_PROXIES
    hc_netlist_t metrics_allow; //  METRICS_ALLOW
    gw_ice_t *ice;              //  ICE servers and TURN credentials
    hc_origins_t origins;       //  ALLOWED_ORIGINS
    msg_rooms_stats_t rooms_stats;  //  as of rooms' last WELCOME
    bool rooms_stats_known;     //  a WELCOME came
    uint32_t instance;          //  high half of our connection ids
    char instance_hex [9];      //  the same, as logs and events show it
    uint32_t next_seq;          //  low half
    hc_buf_t render;            //  reused JSON output
    bool terminated;            //  $TERM received or context gone
    bool stopping;              //  closing clients before exit
    //  Counters for gateway.stats
    uint64_t frames_in, frames_out, invalid, busy, undeliverable, lagging;
    hc_tally_t busy_log;        //  signal.busy, once a second
    hc_tally_t refused_log [REFUSED_REASONS];  //  conn.refused, the same
    hc_tally_t lws_log;         //  lws.message, the same
} self_t;

static _Thread_local self_t *tl_self;       //  for lws's own log lines

//  ---------------------------------------------------------------------
//  Helpers

//  True if sock has a message; a terminating context stops the loop
static bool
s_readable (self_t *self, zsock_t *sock)
{
    bool readable = hc_sock_readable (sock, &self->terminated);
    if (self->terminated)
        ev_break (self->loop, EVBREAK_ALL);
    return readable;
}

//  The encoded command joins this loop turn's message to rooms, which
//  goes before the loop sleeps (s_drain): rooms wakes once per turn
static int
s_to_rooms (self_t *self, const char *verb)
{
    return hc_batch_add (&self->to_rooms, NULL, verb,
                         msg_enc_data (self->enc), msg_enc_size (self->enc));
}

//  Drops a connection without a close handshake (the peer is dead or not
//  reading). lws kills it from its timer list; waking the service makes
//  that happen now rather than at its next scheduled wakeup.
static void
s_kill (self_t *self, gw_session_t *session)
{
    session->closing = true;
    lws_set_timeout (session->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
    lws_cancel_service (self->ctx);
}

//  A WebSocket ping; -1 if the connection is dead. lws hides empty pongs
//  from us, so the ping carries a payload.
static int
s_write_ping (struct lws *wsi)
{
    unsigned char ping [LWS_PRE + 8];
    memcpy (ping + LWS_PRE, "homecall", 8);
    return lws_write (wsi, ping + LWS_PRE, 8, LWS_WRITE_PING) < 8 ? -1 : 0;
}

//  Writes one frame to the client; -1 if the connection is dead
static int
s_write_frame (self_t *self, gw_session_t *session, gw_outbuf_t *buf)
{
    //  Stamped before the write: a trace's order is then causal, even
    //  across gateways (what a client does after this comes later)
    if (self->trace)
        gw_trace_frame (self->trace, session->id, session->dialect, true,
                        (const char *) gw_outbuf_payload (buf), buf->len,
                        false);
    //  Every frame we send is JSON text
    int n = lws_write (session->wsi, gw_outbuf_payload (buf), buf->len,
                       LWS_WRITE_TEXT);
    if (n < 0 || (size_t) n < buf->len)
        return -1;
    self->frames_out++;
    session->wrote_last = true;
    return 0;
}

//  Over BUFFER_BUDGET: the connections holding most are cut, largest
//  first, until the gateway is under it again. Rare, so a walk is fine.
static void
s_cut_largest (self_t *self)
{
    while (gw_budget_over (&self->budget)) {
        gw_session_t *largest = NULL;
        for (gw_session_t *session = (gw_session_t *) zhashx_first (
                 self->sessions);
             session; session = (gw_session_t *) zhashx_next (self->sessions))
            if (!largest || session->out_bytes > largest->out_bytes)
                largest = session;
        if (!largest || largest->out_bytes == 0)
            return;             //  what is left is partial messages
        char hex [17];
        hc_conn_hex (largest->id, hex);
        HC_EVENT (self->log, HC_LOG_WARN, "conn.over_budget",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("queued", (int64_t) largest->out_bytes),
                  hc_field_int ("held", (int64_t) self->budget.used));
        self->budget.cuts++;
        gw_budget_sub (&self->budget, largest->out_bytes);
        gw_session_drop_queue (largest);
        s_kill (self, largest);
    }
}

//  Writes one frame for a session at once when nothing is ahead of it,
//  else queues it and asks lws for a write slot. The direct write saves
//  a loop turn and two epoll_ctl calls per frame (POLLOUT on, then off);
//  what the kernel does not take, lws keeps and sends first (buffered
//  out), and frames after it then queue here until WRITEABLE.
static void
s_session_enqueue (self_t *self, gw_session_t *session, gw_outbuf_t *buf)
{
    if (session->closing)
        return;
    if (gw_session_queued (session) == 0 && !session->ping_due
    &&  !lws_partial_buffered (session->wsi)) {
        if (s_write_frame (self, session, buf))
            s_kill (self, session);
        return;
    }
    if (gw_session_push (session, buf, (size_t) self->cfg.send_queue_max)) {
        //  The client is not reading: cut it off rather than buffer more
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_WARN, "conn.lagging",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("queued", (int64_t) session->out_bytes));
        self->lagging++;
        s_kill (self, session);
        return;
    }
    gw_budget_add (&self->budget, buf->len);
    lws_callback_on_writable (session->wsi);
    if (gw_budget_over (&self->budget))
        s_cut_largest (self);
}

static void
s_send_fields (self_t *self, gw_session_t *session, const hc_field_t *fields,
               size_t n)
{
    hc_buf_reset (&self->render);
    gw_json_render (&self->render, fields, n);
    if (self->render.failed)
        return;
    gw_outbuf_t *buf = gw_outbuf_new (self->render.data, self->render.len);
    if (!buf)
        return;
    s_session_enqueue (self, session, buf);
    gw_outbuf_release (&buf);
}

//  An error of the gateway's own, in the session's dialect:
//  /signal  {"type":"error","message":text,"code":code}
//  p2p      {"type":"error","message":text,"handler":handler,"context":{}}
static void
s_send_error (self_t *self, gw_session_t *session, const char *text,
              const char *code, const char *handler)
{
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("error")),
        hc_field_str ("message", hc_str (text)),
        session->dialect == HC_DIALECT_SIGNAL
            ? hc_field_str ("code", hc_str (code))
            : hc_field_str ("handler", hc_str (handler)),
        hc_field_obj ("context", NULL, 0),
    };
    s_send_fields (self, session, fields,
                   session->dialect == HC_DIALECT_SIGNAL ? 3 : 4);
}

//  A frame that is not JSON: the p2p dialect's PONG
static void
s_send_text (self_t *self, gw_session_t *session, const char *text)
{
    gw_outbuf_t *buf = gw_outbuf_new (text, strlen (text));
    if (buf) {
        s_session_enqueue (self, session, buf);
        gw_outbuf_release (&buf);
    }
}

//  The ICE servers, asked of the gateway itself in either dialect; TURN
//  credentials name the connection (docs/deploy.md)
static void
s_send_ice (self_t *self, gw_session_t *session)
{
    char hex [17];
    hc_conn_hex (session->id, hex);
    hc_buf_t servers;
    hc_buf_init (&servers, 0);
    gw_ice_render (self->ice, hex, (int64_t) time (NULL), &servers);
    bool signal = session->dialect == HC_DIALECT_SIGNAL;
    hc_field_t fields [] = {
        hc_field_str ("type", signal ? HC_STR_LIT ("ice-servers")
                                     : HC_STR_LIT ("iceServers")),
        hc_field_raw ("iceServers", hc_buf_str (&servers)),
    };
    if (!servers.failed)
        s_send_fields (self, session, fields, 2);
    hc_buf_free (&servers);
    HC_LOG (self->log, HC_LOG_DEBUG, "ice.servers",
            hc_field_str ("conn", hc_str (hex)));
}

//  Closes once the replies already queued are written, from inside an lws
//  callback for this wsi (return its 0). Reading stops: the rest of a
//  flood or of an oversized message is not worth parsing (docs/limits.md).
static int
s_close_after_replies (self_t *self, gw_session_t *session, uint16_t code,
                       const char *reason)
{
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_LOG (self->log, HC_LOG_INFO, "conn.closing",
            hc_field_str ("conn", hc_str (hex)), hc_field_int ("code", code),
            hc_field_str ("reason", hc_str (reason)));
    gw_session_close_after_flush (session, code, reason);
    lws_rx_flow_control (session->wsi, 0);
    lws_callback_on_writable (session->wsi);
    return 0;
}

//  ---------------------------------------------------------------------
//  Client frames

//  Rooms cannot take the command now: the client is told, and the operator
//  sees a record once a second at most
static void
s_busy (self_t *self, gw_session_t *session)
{
    self->busy++;
    s_send_error (self, session, SIG_T_SERVER_BUSY, SIG_E_SERVER_BUSY,
                  "SERVER");
    uint64_t count = hc_tally_add (&self->busy_log, zclock_mono ());
    if (count)
        HC_LOG (self->log, HC_LOG_WARN, "signal.busy",
                hc_field_int ("count", (int64_t) count));
}

//  Malformed input: "Invalid message" (with a code saying why, or the p2p
//  dialect's handler PARSE), and a record
static void
s_invalid (self_t *self, gw_session_t *session, const char *code,
           size_t size)
{
    self->invalid++;
    s_send_error (self, session, SIG_INVALID_MESSAGE, code, "PARSE");
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_EVENT_ERROR (self->log, HC_LOG_INFO,
                    session->dialect == HC_DIALECT_SIGNAL ? "signal.invalid"
                                                          : "p2p.invalid",
                    hc_field_str ("conn", hc_str (hex)),
                    hc_field_str ("code", hc_str (code)),
                    hc_field_int ("size", (int64_t) size));
}

static void
s_signal_frame (self_t *self, gw_session_t *session, const char *data,
                size_t len)
{
    cJSON *root = NULL;
    gw_sig_result_t result;
    gw_signal_read (data, len, &root, &result);
    char hex [17];
    switch (result.kind) {
        case GW_SIG_INVALID:
            s_invalid (self, session, result.code, len);
            break;
        case GW_SIG_CLIENT_ERROR: {
            hc_str_t text = result.client_message;
            if (text.len > 200)
                text.len = 200;     //  may cut a UTF-8 sequence: the log
                                    //  writer escapes what it cannot print
            hc_conn_hex (session->id, hex);
            HC_EVENT_ERROR (self->log, HC_LOG_WARN, "client.error",
                            hc_field_str ("conn", hc_str (hex)),
                            hc_field_str ("message", text));
            break;
        }
        case GW_SIG_ICE_SERVERS:
            s_send_ice (self, session);
            break;
        case GW_SIG_COMMAND:
            result.cmd.conn = session->id;
            if (msg_enc_sig (self->enc, &result.cmd) == 0
            &&  s_to_rooms (self, MSG_SIG) == 0)
                break;
            s_busy (self, session);
            break;
    }
    gw_json_release (&root);
}

static void
s_p2p_frame (self_t *self, gw_session_t *session, const char *data,
             size_t len)
{
    cJSON *root = NULL;
    gw_p2p_result_t *result = self->p2p;
    gw_p2p_read (data, len, &root, result);
    switch (result->kind) {
        case GW_P2P_PING:
            //  Text PING and {"route":"PING"} both keep the session (B5)
            session->last_app_ping = ev_now (self->loop);
            s_send_text (self, session, "PONG");
            break;
        case GW_P2P_ICE_SERVERS:
            s_send_ice (self, session);
            break;
        case GW_P2P_INVALID:
            s_invalid (self, session, SIG_E_INVALID_JSON, len);
            break;
        case GW_P2P_COMMAND:
            result->cmd.conn = session->id;
            if (msg_enc_p2p (self->enc, &result->cmd) == 0
            &&  s_to_rooms (self, MSG_P2P) == 0)
                break;
            s_busy (self, session);
            break;
    }
    gw_json_release (&root);
}

//  Charges one frame to the rate limit: true if it may pass. Every frame
//  counts, the empty continuation as much as a whole message, so that no
//  kind of frame is a free flood (docs/limits.md).
static bool
s_rate_frame (self_t *self, gw_session_t *session)
{
    gw_rate_t rate = gw_session_rate (session, ev_now (self->loop),
                                      (double) self->cfg.rate_limit,
                                      (double) self->cfg.rate_burst);
    if (rate == GW_RATE_CLOSE) {
        //  What we already owe it (the rate_limited error) goes out first
        HC_EVENT (self->log, HC_LOG_WARN, "conn.flood",
                  hc_field_str ("peer", hc_str (session->peer)));
        s_close_after_replies (self, session,
                               LWS_CLOSE_STATUS_POLICY_VIOLATION,
                               SIG_E_RATE_LIMITED);
    }
    else
    if (rate == GW_RATE_DROP_TELL)
        s_send_error (self, session, SIG_T_RATE_LIMITED, SIG_E_RATE_LIMITED,
                      "RATE_LIMIT");
    return rate == GW_RATE_OK;
}

//  One whole client message. Returns -1 to close the connection.
static int
s_frame (self_t *self, gw_session_t *session, const char *data, size_t len,
         bool binary)
{
    //  lws leaves text to us (no LWS_SERVER_OPTION_VALIDATE_UTF8): one
    //  eight-bytes-a-step pass over the whole message is cheaper than its
    //  byte-at-a-time check of every fragment
    if (!binary && !utf8_valid (data, len))
        return s_close_after_replies (self, session,
                                      LWS_CLOSE_STATUS_INVALID_PAYLOAD,
                                      "invalid_utf8");
    self->frames_in++;
    if (self->trace)
        gw_trace_frame (self->trace, session->id, session->dialect, false,
                        data, len, binary);
    //  Binary frames carry the same JSON; bad UTF-8 there is malformed
    if (binary && !utf8_valid (data, len)) {
        s_invalid (self, session, SIG_E_INVALID_JSON, len);
        return 0;
    }
    if (session->dialect == HC_DIALECT_SIGNAL)
        s_signal_frame (self, session, data, len);
    else
        s_p2p_frame (self, session, data, len);
    return 0;
}

//  ---------------------------------------------------------------------
//  Session lifecycle (lws callbacks, gateway thread)

//  Who the client is: the socket peer, or behind a trusted proxy the
//  address it forwarded (then via names the proxy; else it is "")
static void
s_client_address (self_t *self, struct lws *wsi, char client [HC_ADDR_TEXT],
                  char via [HC_ADDR_TEXT])
{
    char socket_peer [HC_ADDR_TEXT] = "";
    if (!lws_get_peer_simple (wsi, socket_peer, sizeof (socket_peer)))
        strcpy (socket_peer, "?");
    //  A header longer than this is not from a proxy we would trust
    char forwarded [1024];
    if (lws_hdr_copy (wsi, forwarded, sizeof (forwarded),
                      WSI_TOKEN_X_FORWARDED_FOR) < 0)
        forwarded [0] = 0;
    gw_client_address (&self->proxies, socket_peer, forwarded, client, via);
}

//  A pending socket's input watcher (s_pending_readable)
typedef struct {
    ev_io io;
    self_t *self;
    gw_ticket_t *ticket;
} s_watch_t;

static void
s_unwatch (self_t *self, gw_ticket_t *ticket)
{
    s_watch_t *watch = (s_watch_t *) ticket->watch;
    if (watch) {
        ev_io_stop (self->loop, &watch->io);
        free (watch);
        ticket->watch = NULL;
    }
}

static void
s_session_open (self_t *self, gw_session_t *session, struct lws *wsi)
{
    session->wsi = wsi;
    session->id = ((uint64_t) self->instance << 32) | ++self->next_seq;
    char path [256] = "";
    if (lws_hdr_copy (wsi, path, sizeof (path), WSI_TOKEN_GET_URI) < 0)
        path [0] = 0;
    char *query = strchr (path, '?');
    if (query)
        *query = 0;             //  the path decides; a query is ignored
    session->dialect = strcmp (path, "/signal") == 0 ? HC_DIALECT_SIGNAL
                                                     : HC_DIALECT_P2P;
    gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
    if (ticket) {               //  the handshake is done: no deadline
        gw_admission_settle (self->admission, ticket);
        s_unwatch (self, ticket);
    }
    int rc = zhashx_insert (self->sessions, &session->id, session);
    assert (rc == 0);
    (void) rc;
    session->registered = true;
    session->last_seen = ev_now (self->loop);

    msg_open_t open = {session->id, (hc_dialect_t) session->dialect,
                       hc_str (session->peer)};
    bool announced = msg_enc_open (self->enc, &open) == 0
                  && s_to_rooms (self, MSG_OPEN) == 0;
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_EVENT (self->log, HC_LOG_INFO, "conn.open",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("gateway", hc_str (self->instance_hex)),
              hc_field_str ("dialect", hc_str (hc_dialect_name (
                                               session->dialect))),
              hc_field_str ("path", hc_str (path)),
              hc_field_str ("peer", hc_str (session->peer)),
              hc_field_str ("via", hc_str (session->via)));
    if (self->trace)
        gw_trace_open (self->trace, session->id, session->dialect, path,
                       session->peer);
    if (!announced) {
        //  Rooms would not know this connection: better none than that
        self->busy++;
        gw_session_close_after_flush (session, CLOSE_TRY_LATER,
                                      SIG_E_SERVER_BUSY);
        lws_callback_on_writable (wsi);
    }
    if (self->stopping) {
        gw_session_close_after_flush (session, LWS_CLOSE_STATUS_GOINGAWAY,
                                      "server shutting down");
        lws_callback_on_writable (wsi);
    }
    else
    if (session->dialect == HC_DIALECT_P2P) {
        session->last_app_ping = session->last_seen;
        hc_field_t hello [] = {hc_field_str ("type", HC_STR_LIT ("userConnect"))};
        s_send_fields (self, session, hello, 1);
    }
}

static int
s_receive (self_t *self, gw_session_t *session, struct lws *wsi,
           const char *in, size_t len)
{
    if (!session->registered || session->closing)
        return 0;               //  input after a close request is ignored
    session->last_seen = ev_now (self->loop);
    size_t remaining = lws_remaining_packet_payload (wsi);
    bool final = lws_is_final_fragment (wsi);
    //  lws hands a long frame over in pieces: it is charged at its first
    bool frame_start = !session->rx_mid_frame;
    session->rx_mid_frame = remaining > 0;
    if (frame_start && !s_rate_frame (self, session))
        session->rx_dropped = true;     //  the whole message goes
    bool first = !session->rx_open;
    session->rx_open = !final;
    if (session->closing || session->rx_dropped) {
        hc_buf_reset (&session->rx);
        if (final)
            session->rx_dropped = false;
        return 0;
    }
    if (first)                  //  continuation frames keep the first's kind
        session->rx_binary = lws_frame_is_binary (wsi);
    bool binary = session->rx_binary;
    if (session->rx.len + len + remaining > (size_t) self->cfg.max_frame_size) {
        if (self->trace)
            gw_trace_oversize (self->trace, session->id, session->dialect,
                               session->rx.len + len + remaining);
        return s_close_after_replies (self, session,
                                      LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                                      "frame_too_large");
    }
    if (first && final)
        return s_frame (self, session, in, len, binary);    //  no copy
    hc_buf_append (&session->rx, in, len);
    if (session->rx.failed)
        return s_close_after_replies (self, session,
                                      LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                                      "out of memory");
    if (!final)
        return 0;
    int rc = s_frame (self, session, session->rx.data, session->rx.len,
                      binary);
    if (session->rx.cap > RX_KEEP_MAX)
        hc_buf_free (&session->rx);
    else
        hc_buf_reset (&session->rx);
    return rc;
}

//  Input, with what reassembly holds counted in the budget
static int
s_session_receive (self_t *self, gw_session_t *session, struct lws *wsi,
                   const char *in, size_t len)
{
    size_t held = session->rx.cap;
    int rc = s_receive (self, session, wsi, in, len);
    gw_budget_sub (&self->budget, held);
    gw_budget_add (&self->budget, session->rx.cap);
    if (gw_budget_over (&self->budget))
        s_cut_largest (self);
    return rc;
}

static int
s_session_writeable (self_t *self, gw_session_t *session, struct lws *wsi)
{
    if (session->ping_due && !session->closing) {
        session->ping_due = false;
        if (s_write_ping (wsi))
            return -1;
        session->wrote_last = true;
        if (gw_session_queued (session))
            lws_callback_on_writable (wsi);
        return 0;
    }
    gw_outbuf_t *buf = gw_session_pop (session);
    if (buf) {
        gw_budget_sub (&self->budget, buf->len);
        int rc = s_write_frame (self, session, buf);
        gw_outbuf_release (&buf);
        if (rc)
            return -1;
        if (gw_session_queued (session) || session->closing)
            lws_callback_on_writable (wsi);
        return 0;
    }
    if (session->closing) {
        lws_close_reason (wsi, (enum lws_close_status) session->close_code,
                          (unsigned char *) session->close_reason,
                          strlen (session->close_reason));
        self->lws_wake_until = ev_now (self->loop) + LWS_WAKE_AFTER_CLOSE;
        lws_rx_flow_control (wsi, 1);   //  to read the answer to the close
        return -1;
    }
    //  Nothing of ours to write: lws wrote a pong here (it leaves the
    //  socket asking to write once more after each), unless it finished
    //  a write of ours. lws answers pings without telling us, so this is
    //  how a ping counts as a frame.
    if (!session->wrote_last)
        s_rate_frame (self, session);
    session->wrote_last = false;
    return 0;
}

//  Who closed, and how: a close we asked for, the client's close frame,
//  or a connection that ended without one (1006)
static void
s_trace_close (self_t *self, gw_session_t *session)
{
    bool by_server = session->closing
                  && (session->close_code || !session->peer_close_code);
    uint16_t code = by_server ? session->close_code : session->peer_close_code;
    gw_trace_close (self->trace, session->id, session->dialect, !by_server,
                    code ? code : LWS_CLOSE_STATUS_ABNORMAL_CLOSE,
                    by_server ? session->close_reason : NULL);
}

static void
s_session_closed (self_t *self, gw_session_t *session)
{
    //  A close we sent: the socket lingers (gw_linger.h), so the client
    //  reads the close frame and what came before it, not a reset
    int fd = lws_get_socket_fd (session->wsi);
    if (session->closing && session->close_code && fd >= 0)
        gw_linger_add (self->linger, fcntl (fd, F_DUPFD_CLOEXEC, 0), NULL, 0);
    if (session->registered) {
        zhashx_delete (self->sessions, &session->id);
        session->registered = false;
        msg_close_t close = {session->id};
        if (msg_enc_close (self->enc, &close) == 0)
            s_to_rooms (self, MSG_CLOSE);
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_INFO, "conn.close",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_str ("gateway", hc_str (self->instance_hex)),
                  hc_field_str ("dialect", hc_str (hc_dialect_name (
                                                   session->dialect))),
                  hc_field_str ("peer", hc_str (session->peer)));
        if (self->trace)
            s_trace_close (self, session);
    }
    gw_budget_sub (&self->budget, session->out_bytes + session->rx.cap);
    gw_session_clear (session);
    if (self->stopping && zhashx_size (self->sessions) == 0)
        ev_break (self->loop, EVBREAK_ALL);
}

//  conn.refused, once a second per reason with the count; /metrics counts
//  them all. A warning: any client can cause one. origin: the refused
//  Origin, or NULL.
static void
s_refused (self_t *self, refused_t reason, const char *peer, const char *via,
           const char *origin)
{
    uint64_t count = hc_tally_add (&self->refused_log [reason],
                                   zclock_mono ());
    if (count && origin)
        HC_EVENT (self->log, HC_LOG_WARN, "conn.refused",
                  hc_field_str ("reason", hc_str (s_refused_names [reason])),
                  hc_field_int ("count", (int64_t) count),
                  hc_field_str ("peer", hc_str (peer)),
                  hc_field_str ("via", hc_str (via)),
                  hc_field_str ("origin", hc_str (origin)));
    else
    if (count)
        HC_EVENT (self->log, HC_LOG_WARN, "conn.refused",
                  hc_field_str ("reason", hc_str (s_refused_names [reason])),
                  hc_field_int ("count", (int64_t) count),
                  hc_field_str ("peer", hc_str (peer)),
                  hc_field_str ("via", hc_str (via)));
}

//  /metrics, to the clients METRICS_ALLOW names (behind a trusted proxy,
//  the client it forwarded, so a public proxy does not open it to all)
static int
s_http_metrics (self_t *self, struct lws *wsi)
{
    if (self->metrics_allow.size == 0)
        return gw_http_text (wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
    char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
    s_client_address (self, wsi, client, via);
    if (!hc_netlist_contains (&self->metrics_allow, client))
        return gw_http_text (wsi, HTTP_STATUS_FORBIDDEN, "forbidden\n");
    gw_metrics_t metrics = {
        .version = HOMECALL_VERSION, .gateway = self->instance_hex,
        .connections = {{0, "signal"}, {0, "p2p"}},
        .frames_in = self->frames_in, .frames_out = self->frames_out,
        .invalid = self->invalid, .busy = self->busy,
        .undeliverable = self->undeliverable, .lagging = self->lagging,
        .rooms_up = self->link.up, .rooms_known = self->rooms_stats_known,
        .rooms = self->rooms_stats,
        .handshakes = gw_admission_pending (self->admission),
        .lingering = gw_linger_size (self->linger),
        .buffered = self->budget.used, .budget_cuts = self->budget.cuts
    };
    for (gw_session_t *session = (gw_session_t *) zhashx_first (self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions))
        metrics.connections [session->dialect == HC_DIALECT_SIGNAL ? 0 : 1]
            .value++;
    for (int i = 0; i < REFUSED_REASONS; i++)
        metrics.refused [i] = (gw_metric_labelled_t) {
            self->refused_log [i].count, s_refused_names [i]};
    hc_buf_t body;
    hc_buf_init (&body, LWS_PRE);
    gw_metrics_render (&metrics, &body);
    int rc = gw_http_answer (wsi, HTTP_STATUS_OK,
                             "text/plain; version=0.0.4; charset=utf-8", NULL,
                            &body);
    hc_buf_free (&body);
    return rc;
}

//  Plain HTTP (gw_http.h); on the TLS port, only over TLS
static int
s_http (self_t *self, struct lws *wsi, const char *path)
{
    if (gw_tls_enabled (&self->cfg) && !lws_is_ssl (wsi)) {
        char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
        s_client_address (self, wsi, client, via);
        s_refused (self, REFUSED_NOT_TLS, client, via, NULL);
        return gw_http_text (wsi, HTTP_STATUS_BAD_REQUEST, "not_tls\n");
    }
    const gw_demo_file_t *file;
    switch (gw_http_route (path, self->cfg.demo_page, &file)) {
        case GW_HTTP_DEMO:      return gw_http_file (wsi, file);
        case GW_HTTP_METRICS:   return s_http_metrics (self, wsi);
        case GW_HTTP_HEALTH:    return gw_http_health (wsi, self->link.up);
        case GW_HTTP_UPGRADE:   break;
    }
    return gw_http_text (wsi, 426, "Upgrade Required\n");
}

//  ALLOWED_ORIGINS: a handshake without Origin (not a browser) goes on;
//  one too long to hold is not listed. origin gets what it said.
static bool
s_origin_allowed (self_t *self, struct lws *wsi,
                  char origin [HC_ORIGINS_TEXT])
{
    origin [0] = 0;
    if (self->origins.size == 0)
        return true;
    int len = lws_hdr_total_length (wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0)
        return hc_origins_allow (&self->origins, NULL);
    if (lws_hdr_copy (wsi, origin, HC_ORIGINS_TEXT, WSI_TOKEN_ORIGIN) < 0) {
        snprintf (origin, HC_ORIGINS_TEXT, "(%d bytes)", len);
        return false;
    }
    return hc_origins_allow (&self->origins, origin);
}

//  The whole HTTP answer to a refused handshake; returns its length
static size_t
s_refusal_text (refused_t reason, char *text, size_t size)
{
    return gw_http_refusal (s_refused_status [reason],
                            s_refused_names [reason], text, size);
}

//  Before the upgrade: the client's address goes into the session, which
//  lws has allocated by now. Refused (the handshake fails) when stopping,
//  while rooms is away, or over a connection cap. A flood of refusals
//  makes one record a second per reason, with the count.
static int
s_filter (self_t *self, gw_session_t *session, struct lws *wsi)
{
    s_client_address (self, wsi, session->peer, session->via);
    const char *peer = session->peer;
    char origin [HC_ORIGINS_TEXT];
    refused_t reason;
    if (gw_tls_enabled (&self->cfg) && !lws_is_ssl (wsi))
        reason = REFUSED_NOT_TLS;
    else
    if (!s_origin_allowed (self, wsi, origin))
        reason = REFUSED_ORIGIN;
    else
    if (self->stopping)
        reason = REFUSED_STOPPING;
    else
    if (!self->link.up)
        reason = REFUSED_ROOMS_UNAVAILABLE;
    else
    if (zhashx_size (self->sessions) >= (size_t) self->cfg.max_connections)
        reason = REFUSED_MAX_CONNECTIONS;
    else {
        //  Counted against the client from now on (behind a proxy, until
        //  now it was counted against nobody)
        gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
        if (!ticket || gw_admission_move (self->admission, ticket, peer))
            return 0;
        reason = REFUSED_MAX_CONNECTIONS_PER_IP;
    }
    s_refused (self, reason, peer, session->via,
               reason == REFUSED_ORIGIN ? origin : NULL);
    //  An HTTP answer the client's library can report, then the close.
    //  Written whole: lws would call it HTTP/1.0 at this stage, which
    //  WebSocket clients refuse to parse.
    unsigned char buf [LWS_PRE + 256];
    size_t len = s_refusal_text (reason, (char *) buf + LWS_PRE,
                                 sizeof (buf) - LWS_PRE);
    lws_write (wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_HEADERS);
    return -1;
}

//  ---------------------------------------------------------------------
//  Sockets before their handshake (lws callbacks, gateway thread)

//  Tells a pending socket why it is being closed, while lws still has it
//  open; a dup keeps it open for gw_linger once lws has closed its own
static void
s_answer (self_t *self, gw_ticket_t *ticket, refused_t reason)
{
    (void) self;
    if (ticket->verdict)
        return;
    ticket->verdict = 1 + (int) reason;
    //  Bytes outside TLS records would garble a TLS stream: that socket
    //  is only closed (lws ends its TLS first)
    if (lws_is_ssl ((struct lws *) (uintptr_t) ticket->owner))
        return;
    char text [256];
    size_t len = s_refusal_text (reason, text, sizeof (text));
    if (send (ticket->fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        ticket->answer_fd = fcntl (ticket->fd, F_DUPFD_CLOEXEC, 0);
}

//  A new socket, before lws adopts it: refused at once (with a 429 it can
//  read) when its address holds its cap already. A trusted proxy's socket
//  is counted once its headers name the client (s_filter).
static int
s_accept (self_t *self, int fd)
{
    char socket_peer [HC_ADDR_TEXT] = "?", peer [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
    lws_get_peer_simple_fd (fd, socket_peer, sizeof (socket_peer));
    gw_client_address (&self->proxies, socket_peer, NULL, peer, via);
    bool proxy = hc_netlist_contains (&self->proxies, peer);
    if (!proxy && !gw_admission_allows (self->admission, peer)) {
        s_refused (self, REFUSED_MAX_CONNECTIONS_PER_IP, peer, "", NULL);
        char text [256];
        size_t len = s_refusal_text (REFUSED_MAX_CONNECTIONS_PER_IP, text,
                                     sizeof (text));
        //  lws closes fd when we return; the dup lingers with the answer
        //  (none on a TLS port: a TLS client could not read it)
        bool tls = gw_tls_enabled (&self->cfg);
        gw_linger_add (self->linger, fcntl (fd, F_DUPFD_CLOEXEC, 0),
                       tls ? NULL : text, tls ? 0 : len);
        return -1;
    }
    self->accepted_fd = fd;
    snprintf (self->accepted_peer, sizeof (self->accepted_peer), "%s",
              proxy ? "" : peer);
    return 0;
}

//  Closes pending sockets past the handshake deadline, and the oldest ones
//  while there are more than MAX_HANDSHAKES
static void
s_sweep_handshakes (self_t *self)
{
    double timeout = (double) self->cfg.handshake_timeout_ms / 1000;
    gw_ticket_t *ticket;
    while ((ticket = gw_admission_due (self->admission, ev_now (self->loop),
                                       timeout))) {
        gw_admission_settle (self->admission, ticket);
        bool late = ev_now (self->loop) - ticket->since >= timeout;
        s_answer (self, ticket, late ? REFUSED_HANDSHAKE_TIMEOUT
                                     : REFUSED_MAX_HANDSHAKES);
        lws_set_timeout ((struct lws *) (uintptr_t) ticket->owner,
                         PENDING_TIMEOUT_ESTABLISH_WITH_SERVER,
                         LWS_TO_KILL_ASYNC);
        self->lws_wake_until = ev_now (self->loop) + 1;
    }
}

//  A pending socket's input: we have lws read it, so that what it says
//  while parsing the headers (s_lws_log) is known to be about this socket.
//  lws's own watcher, behind ours in priority, then finds nothing to read.
static void
s_pending_readable (struct ev_loop *loop, ev_io *io, int revents)
{
    (void) loop;
    (void) revents;
    s_watch_t *watch = (s_watch_t *) io->data;
    self_t *self = watch->self;
    struct lws_pollfd pollfd = {io->fd, LWS_POLLIN, LWS_POLLIN};
    self->reading = watch->ticket;
    lws_service_fd (self->ctx, &pollfd);    //  may free watch
    self->reading = NULL;
}

//  lws made the socket s_accept let in: it gets a ticket, and a watcher
static void
s_socket_created (self_t *self, struct lws *wsi)
{
    if (self->accepted_fd < 0)
        return;                 //  a socket of lws's own
    gw_ticket_t *ticket = gw_admission_enter (
        self->admission, wsi,
        self->accepted_peer [0] ? self->accepted_peer : NULL,
        ev_now (self->loop));
    ticket->fd = self->accepted_fd;
    self->accepted_fd = -1;
    s_watch_t *watch = (s_watch_t *) zmalloc (sizeof (s_watch_t));
    watch->self = self;
    watch->ticket = ticket;
    ev_io_init (&watch->io, s_pending_readable, ticket->fd, EV_READ);
    ev_set_priority (&watch->io, EV_MAXPRI);
    watch->io.data = watch;
    ev_io_start (self->loop, &watch->io);
    ticket->watch = watch;
    if (gw_admission_pending (self->admission)
        > (size_t) self->cfg.max_handshakes)
        s_sweep_handshakes (self);
}

//  The socket is gone. One that never finished its handshake is told why
//  it was closed, when we know it.
static void
s_socket_destroyed (self_t *self, struct lws *wsi)
{
    gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
    if (!ticket)
        return;
    if (ticket->verdict)
        s_refused (self, (refused_t) (ticket->verdict - 1),
                   ticket->address [0] ? ticket->address : "?", "", NULL);
    //  The answer went out before lws closed; now the rest of the input
    gw_linger_add (self->linger, ticket->answer_fd, NULL, 0);
    ticket->answer_fd = -1;
    s_unwatch (self, ticket);
    gw_admission_leave (self->admission, &ticket);
}

//  Handshake deadlines, and lws's own timers. Its libev glue arms one
//  ev_timer for the earliest of them and never moves it earlier (ev_timer_set
//  on an active watcher), so a timer lws sets later, such as the 5 s wait
//  for the answer to a close, waited for that one (about 30 s on an idle
//  server) or for other traffic. Each wake makes lws run whatever is due.
static void
s_edge_tick (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    self_t *self = (self_t *) timer->data;
    s_sweep_handshakes (self);
    bool busy = zhashx_size (self->sessions)
             || gw_admission_pending (self->admission);
    if (self->lws_wake_until >= ev_now (loop)
    ||  (busy && ++self->edge_ticks % LWS_WAKE_TICKS == 0))
        lws_cancel_service (self->ctx);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
    self_t *self = (self_t *) lws_context_user (lws_get_context (wsi));
    gw_session_t *session = (gw_session_t *) user;
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            return s_http (self, wsi, (const char *) in);
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return s_filter (self, session, wsi);
        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
            return s_accept (self, (int) (intptr_t) in);
        case LWS_CALLBACK_WSI_CREATE:
            s_socket_created (self, wsi);
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            s_socket_destroyed (self, wsi);
            return 0;
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if (len >= 2)
                session->peer_close_code = (uint16_t) (
                    ((const unsigned char *) in) [0] << 8
                    | ((const unsigned char *) in) [1]);
            return 0;
        case LWS_CALLBACK_ESTABLISHED:
            s_session_open (self, session, wsi);
            return 0;
        case LWS_CALLBACK_RECEIVE:
            return s_session_receive (self, session, wsi, (const char *) in,
                                      len);
        case LWS_CALLBACK_SERVER_WRITEABLE:
            return s_session_writeable (self, session, wsi);
        case LWS_CALLBACK_RECEIVE_PONG:
            session->last_seen = ev_now (self->loop);
            return 0;
        case LWS_CALLBACK_CLOSED:
            s_session_closed (self, session);
            return 0;
        default:
            return 0;
    }
}

//  lws keeps a receive buffer of RX_CHUNK per connection for its whole
//  life: 8 KiB there doubled an idle client's memory. A longer message
//  comes in chunks (s_session_receive joins them). A send is not cut to
//  RX_CHUNK (what lws does when tx_packet_size is 0): the kernel takes a
//  whole frame, or lws keeps the rest.
#define RX_CHUNK 2048
#define TX_PACKET_MAX (1024 * 1024)

static const struct lws_protocols s_protocols [] = {
    //  Serves both dialects and plain HTTP
    {"homecall", s_callback, sizeof (gw_session_t), RX_CHUNK, 0, NULL,
     TX_PACKET_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

//  lws's own warnings and errors, as our log records
//  lws's own warnings and errors, as our log records. Clients cause most
//  of them (headers too large, bad requests), so they are warnings, once
//  a second with a count: a client cannot page the operator.
static void
s_lws_log (int level, const char *line)
{
    (void) level;
    self_t *self = tl_self;
    if (!self)
        return;
    //  The only sign lws gives that a handshake's headers did not fit,
    //  said while it reads them (s_pending_readable): that socket hears 431
    if (self->reading
    &&  (strncmp (line, "Ran out of header data space", 28) == 0
    ||   strncmp (line, "More hdr frags", 14) == 0
    ||   (strncmp (line, "header ", 7) == 0 && strstr (line, "exceeds limit"))))
        s_answer (self, self->reading, REFUSED_HEADER_TOO_LARGE);
    uint64_t count = hc_tally_add (&self->lws_log, zclock_mono ());
    if (!count)
        return;
    hc_str_t text = hc_str (line);
    while (text.len && (text.ptr [text.len - 1] == '\n'))
        text.len--;
    HC_LOG (self->log, HC_LOG_WARN, "lws.message", hc_field_str ("text", text),
            hc_field_int ("count", (int64_t) count));
}

//  ---------------------------------------------------------------------
//  Deliveries from rooms

//  A message from rooms the codec refused: logged and dropped
static void
s_malformed (self_t *self, const char *verb)
{
    HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.malformed",
                    hc_field_str ("verb", hc_str (verb)),
                    hc_field_str ("why", hc_str (msg_dec_error (self->dec))));
}

static void
s_handle_out (self_t *self, const void *data, size_t size)
{
    msg_out_t out;
    if (msg_dec_out (self->dec, data, size, &out)) {
        s_malformed (self, MSG_OUT);
        return;
    }
    hc_buf_reset (&self->render);
    gw_json_render (&self->render, out.fields, out.fields_n);
    if (self->render.failed)
        return;
    gw_outbuf_t *buf = gw_outbuf_new (self->render.data, self->render.len);
    if (!buf)
        return;
    for (size_t i = 0; i < out.conns_n; i++) {
        gw_session_t *session = (gw_session_t *) zhashx_lookup (
            self->sessions, &out.conns [i]);
        if (session)
            s_session_enqueue (self, session, buf);
        else
            self->undeliverable++;  //  closed while rooms was deciding
    }
    gw_outbuf_release (&buf);
}

static void
s_handle_kick (self_t *self, const void *data, size_t size)
{
    msg_kick_t kick;
    if (msg_dec_kick (self->dec, data, size, &kick)) {
        s_malformed (self, MSG_KICK);
        return;
    }
    gw_session_t *session = (gw_session_t *) zhashx_lookup (self->sessions,
                                                            &kick.conn);
    if (!session)
        return;
    char reason [124];
    snprintf (reason, sizeof (reason), "%.*s", (int) kick.reason.len,
              kick.reason.ptr);
    gw_session_close_after_flush (session, kick.code, reason);
    lws_callback_on_writable (session->wsi);
}

//  ---------------------------------------------------------------------
//  The link to rooms

static void
s_hello (self_t *self, const char *verb)
{
    msg_hello_t hello = {self->instance};
    if (msg_enc_hello (self->enc, &hello) == 0)
        s_to_rooms (self, verb);    //  none while unlinked: nothing queues
}

//  Rooms no longer knows our clients: every one of them reconnects
static void
s_close_all (self_t *self, const char *reason)
{
    for (gw_session_t *session = (gw_session_t *) zhashx_first (self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        gw_session_close_after_flush (session, CLOSE_RESTART, reason);
        lws_callback_on_writable (session->wsi);
    }
}

static void
s_link_changed (self_t *self, gw_link_change_t change)
{
    if (change == GW_LINK_SAME)
        return;
    char epoch [17];
    hc_conn_hex (self->link.epoch, epoch);
    int64_t clients = (int64_t) zhashx_size (self->sessions);
    if (change == GW_LINK_UP)
        HC_EVENT (self->log, HC_LOG_INFO, "rooms.linked",
                  hc_field_str ("epoch", hc_str (epoch)));
    else
    if (change == GW_LINK_RESTARTED) {
        HC_EVENT (self->log, HC_LOG_WARN, "rooms.restarted",
                  hc_field_str ("epoch", hc_str (epoch)),
                  hc_field_int ("connections", clients));
        s_close_all (self, "rooms_restarted");
    }
    else {
        HC_EVENT (self->log, HC_LOG_WARN, "rooms.lost",
                  hc_field_str ("epoch", hc_str (epoch)),
                  hc_field_int ("connections", clients));
        s_close_all (self, "rooms_unavailable");
    }
}

static void
s_handle_welcome (self_t *self, const void *data, size_t size)
{
    msg_welcome_t welcome;
    if (msg_dec_welcome (self->dec, data, size, &welcome)) {
        s_malformed (self, MSG_WELCOME);
        return;
    }
    self->rooms_stats = welcome.stats;
    self->rooms_stats_known = true;
    s_link_changed (self, gw_link_welcome (&self->link, welcome.epoch,
                                           welcome.fresh, zclock_mono ()));
}

static void
s_link_tick (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    self_t *self = (self_t *) timer->data;
    s_hello (self, MSG_HELLO);
    s_link_changed (self, gw_link_check (&self->link, zclock_mono ()));
}

//  One handler per verb rooms sends
static const struct {
    const char *verb;
    void (*handler) (self_t *self, const void *data, size_t size);
} s_handlers [] = {
    {MSG_OUT, s_handle_out}, {MSG_KICK, s_handle_kick},
    {MSG_WELCOME, s_handle_welcome}
};
#define HANDLERS_N (sizeof (s_handlers) / sizeof (s_handlers [0]))

//  One message from rooms: [verb][body] pairs, in the order rooms sent
//  them (common/batch.h)
static void
s_receive_rooms (self_t *self)
{
    zmq_msg_t pair [2];
    zmq_msg_init (&pair [0]);
    zmq_msg_init (&pair [1]);
    bool more = true;
    while (more) {
        int parts = hc_sock_recv_pair (self->rooms, pair, &more);
        const char *v = (const char *) zmq_msg_data (&pair [0]);
        size_t vlen = zmq_msg_size (&pair [0]);
        const void *body = zmq_msg_data (&pair [1]);
        size_t size = zmq_msg_size (&pair [1]);
        size_t i = 0;
        while (i < HANDLERS_N
               && (parts != 2 || strlen (s_handlers [i].verb) != vlen
                   || memcmp (s_handlers [i].verb, v, vlen) != 0))
            i++;
        if (i < HANDLERS_N)
            s_handlers [i].handler (self, body, size);
        else
        if (parts > 0)
            HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.unexpected",
                            hc_field_int ("parts", parts));
        if (parts < 2)
            break;
    }
    hc_sock_close_parts (pair, 2);
}

//  ---------------------------------------------------------------------
//  Start and stop

static void
s_stats (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    self_t *self = (self_t *) timer->data;
    HC_LOG (self->log, HC_LOG_INFO, "gateway.stats",
            hc_field_int ("connections", (int64_t) zhashx_size (self->sessions)),
            hc_field_int ("frames_in", (int64_t) self->frames_in),
            hc_field_int ("frames_out", (int64_t) self->frames_out),
            hc_field_int ("invalid", (int64_t) self->invalid),
            hc_field_int ("busy", (int64_t) self->busy),
            hc_field_int ("undeliverable", (int64_t) self->undeliverable),
            hc_field_int ("lagging", (int64_t) self->lagging),
            hc_field_int ("log_dropped", (int64_t) hc_log_dropped (self->log)));
}

//  Pings now when nothing waits to go out (as s_session_enqueue writes
//  frames: no WRITEABLE round, no epoll_ctl), else at the next WRITEABLE
static void
s_ping (self_t *self, gw_session_t *session)
{
    if (session->closing)
        return;
    if (gw_session_queued (session) == 0 && !lws_partial_buffered (session->wsi)) {
        if (s_write_ping (session->wsi))
            s_kill (self, session);
        return;
    }
    session->ping_due = true;
    lws_callback_on_writable (session->wsi);
}

//  Liveness and the p2p heartbeat (gw_liveness.h)
static void
s_liveness (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    self_t *self = (self_t *) timer->data;
    double now = ev_now (loop);
    double interval = (double) self->cfg.ping_interval_ms / 1000;
    double timeout = (double) self->cfg.ping_timeout_ms / 1000;
    for (gw_session_t *session = (gw_session_t *) zhashx_first (self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        gw_live_t live = gw_liveness_check (session, now, interval, timeout);
        if (live == GW_LIVE_DROP) {
            char hex [17];
            hc_conn_hex (session->id, hex);
            HC_EVENT (self->log, HC_LOG_INFO, "conn.timeout",
                      hc_field_str ("conn", hc_str (hex)),
                      hc_field_int ("idle_ms", (int64_t) ((now
                                                - session->last_seen) * 1000)));
            s_kill (self, session);
        }
        else
        if (live == GW_LIVE_PING)
            s_ping (self, session);
    }
}

static void
s_heartbeat (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    self_t *self = (self_t *) timer->data;
    double now = ev_now (loop);
    double timeout = (double) self->cfg.p2p_heartbeat_timeout_ms / 1000;
    for (gw_session_t *session = (gw_session_t *) zhashx_first (self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        if (!gw_liveness_heartbeat_lapsed (session, now, timeout))
            continue;
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_INFO, "p2p.heartbeat_close",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("silent_ms",
                                (int64_t) ((now - session->last_app_ping)
                                           * 1000)));
        gw_session_close_after_flush (session, LWS_CLOSE_STATUS_NORMAL,
                                      "No ping received");
        lws_callback_on_writable (session->wsi);
    }
}

//  Says HELLO until rooms answers, for at most LINK_WAIT_MS, so that a
//  gateway started beside a running rooms takes clients from the start
static void
s_link_wait (self_t *self)
{
    int64_t until = zclock_mono () + LINK_WAIT_MS;
    zmq_pollitem_t item = {zsock_resolve (self->rooms), 0, ZMQ_POLLIN, 0};
    while (!self->link.up && !self->terminated && zclock_mono () < until) {
        s_hello (self, MSG_HELLO);
        hc_batch_flush (&self->to_rooms);
        zmq_poll (&item, 1, 50);
        while (!self->terminated && s_readable (self, self->rooms))
            s_receive_rooms (self);
    }
}

static int
s_start (self_t *self)
{
    hc_log_wait_subscribed (self->log, 2000);
    if (self->cfg.trace [0]) {
        self->trace = gw_trace_new (self->cfg.trace, self->instance);
        if (!self->trace) {
            HC_LOG (self->log, HC_LOG_ERROR, "gateway.trace_failed",
                    hc_field_str ("file", hc_str (self->cfg.trace)),
                    hc_field_str ("why", hc_str (strerror (errno))));
            return -1;
        }
    }
    s_link_wait (self);
    void *foreign_loops [] = {self->loop};
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof (info));
    info.port = (int) self->cfg.ws_port;
    info.iface = self->cfg.ws_host;
    info.protocols = s_protocols;
    info.options = LWS_SERVER_OPTION_LIBEV;     //  UTF-8: s_frame checks
    //  Liveness is ours (s_liveness). lws's default idle policy (a ping
    //  after 300 s) would re-arm a timer at every frame a client sends,
    //  in a sorted list of every connection: a ping round of N clients
    //  then costs N squared. With no hangup time lws keeps no such timer.
    static const lws_retry_bo_t no_idle_policy = {
        .secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_idle_policy;
    info.foreign_loops = foreign_loops;
    info.user = self;
    //  No fd_limit_per_thread: with it lws finds a connection from its
    //  descriptor by a linear scan (O(connections) per event); without it
    //  lws indexes a table sized by RLIMIT_NOFILE, which main raised to
    //  hold every connection and pending handshake (s_sweep_handshakes
    //  bounds those, so they cannot take the places of connections)
    //  lws's own handshake timers, behind ours (s_sweep_handshakes)
    info.timeout_secs = (unsigned) (self->cfg.handshake_timeout_ms / 1000 + 1);
    info.timeout_secs_ah_idle = info.timeout_secs;
    info.max_http_header_data2 = (unsigned) self->cfg.max_header_size;
    gw_tls_apply (&self->cfg, &info);
    self->ctx = lws_create_context (&info);
    if (!self->ctx) {
        HC_LOG (self->log, HC_LOG_ERROR, "gateway.listen_failed",
                hc_field_str ("host", hc_str (self->cfg.ws_host)),
                hc_field_int ("port", self->cfg.ws_port));
        return -1;
    }
    struct lws_vhost *vhost = lws_get_vhost_by_name (self->ctx, "default");
    int port = vhost ? lws_get_vhost_listen_port (vhost) : -1;
    HC_LOG (self->log, HC_LOG_INFO, "gateway.listening",
            hc_field_str ("host", hc_str (self->cfg.ws_host)),
            hc_field_int ("port", port),
            hc_field_str ("scheme", gw_tls_enabled (&self->cfg)
                                        ? HC_STR_LIT ("wss") : HC_STR_LIT ("ws")),
            hc_field_str ("instance", hc_str (self->instance_hex)));
    ev_timer_start (self->loop, &self->stats_timer);
    ev_timer_start (self->loop, &self->liveness_timer);
    ev_timer_start (self->loop, &self->heartbeat_timer);
    ev_timer_start (self->loop, &self->link_timer);
    ev_timer_start (self->loop, &self->edge_timer);
    return port;
}

static void
s_stop_timeout (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    (void) timer;
    ev_break (loop, EVBREAK_ALL);
}

//  $TERM: every client gets a 1001 close after its queued frames
static void
s_begin_stop (self_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    if (!self->ctx || zhashx_size (self->sessions) == 0) {
        ev_break (self->loop, EVBREAK_ALL);
        return;
    }
    for (gw_session_t *session = (gw_session_t *) zhashx_first (self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        gw_session_close_after_flush (session, LWS_CLOSE_STATUS_GOINGAWAY,
                                      "server shutting down");
        lws_callback_on_writable (session->wsi);
    }
    ev_timer_start (self->loop, &self->stop_timer);
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) {
        self->terminated = true;
        ev_break (self->loop, EVBREAK_ALL);
        return;
    }
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "$TERM"))
        s_begin_stop (self);
    else
    if (command && streq (command, "START") && !self->ctx)
        zsock_send (self->pipe, "i", s_start (self));
    else {
        zsys_error ("gateway: invalid pipe command '%s'", command);
        assert (false);
    }
    zstr_free (&command);
    zmsg_destroy (&msg);
}

//  Drains the pipe, rooms and the publisher's subscriptions; leaves the
//  loop awake if rooms had more. This turn's commands go to rooms first,
//  and nothing is sent on a socket after its check (a send can take the
//  edge that says it is readable).
//
//  A socket is checked (ZMQ_EVENTS: a poll and a getpid each) only when
//  its ZMQ_FD fired or we used it since its last check: those are the
//  only ways it becomes readable without our knowing. A turn that only
//  served clients (pongs of thousands of idle connections) makes no
//  system call here.
static void
s_drain (struct ev_loop *loop, ev_prepare *watcher, int revents)
{
    (void) revents;
    self_t *self = (self_t *) watcher->data;
    while (self->pipe_io.data && !self->terminated
           && s_readable (self, self->pipe))
        s_handle_pipe (self);
    self->pipe_io.data = NULL;
    if (self->trace)
        gw_trace_flush (self->trace);
    hc_batch_flush (&self->to_rooms);
    if (self->rooms_io.data
    ||  self->rooms_checked_at != self->to_rooms.messages) {
        int n = 0;
        while (!self->terminated && n < DRAIN_BATCH
               && s_readable (self, self->rooms)) {
            s_receive_rooms (self);
            n++;
        }
        if (n == DRAIN_BATCH)
            ev_idle_start (loop, &self->resume);
        else {
            ev_idle_stop (loop, &self->resume);
            self->rooms_io.data = NULL;
            self->rooms_checked_at = self->to_rooms.messages;
        }
    }
    uint64_t published = hc_log_sent (self->log) + hc_log_dropped (self->log);
    if (self->pub_io.data || published != self->published) {
        if (s_readable (self, self->pub))
            hc_log_read_subscriptions (self->log);
        self->pub_io.data = NULL;
        self->published = hc_log_sent (self->log)
                        + hc_log_dropped (self->log);
    }
}

//  A ZeroMQ socket's fd fired: s_drain checks it before the next sleep
static void
s_wakeup (struct ev_loop *loop, ev_io *watcher, int revents)
{
    (void) loop;
    (void) revents;
    watcher->data = watcher;    //  any non-NULL: "check me"
}

static void
s_resume (struct ev_loop *loop, ev_idle *watcher, int revents)
{
    (void) loop;
    (void) watcher;
    (void) revents;
}

static self_t *
s_self_new (zsock_t *pipe, const hc_config_t *cfg)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *cfg;
    self->rooms = zsock_new (ZMQ_DEALER);
    self->pub = hc_log_pub_new (hc_endpoint_publish (cfg));
    self->loop = ev_loop_new (EVBACKEND_EPOLL);
    if (!self->loop)
        self->loop = ev_loop_new (0);
    self->sessions = hc_idmap_new ();
    self->admission = gw_admission_new (
        (size_t) cfg->max_connections_per_ip, (size_t) cfg->max_handshakes);
    self->accepted_fd = -1;
    gw_budget_init (&self->budget, (size_t) cfg->buffer_budget);
    char bad [64];
    int parsed = hc_netlist_parse (&self->proxies, cfg->trusted_proxies, bad,
                                   sizeof (bad))
               | hc_netlist_parse (&self->metrics_allow, cfg->metrics_allow,
                                   bad, sizeof (bad))
               | hc_origins_parse (&self->origins, cfg->allowed_origins, bad,
                                   sizeof (bad));
    assert (parsed == 0);       //  hc_config_load checked them
    (void) parsed;
    self->enc = msg_enc_new ();
    self->dec = msg_dec_new ();
    if (getrandom (&self->instance, sizeof (self->instance), 0)
        != sizeof (self->instance))
        self->instance = (uint32_t) getpid () ^ (uint32_t) zclock_time ();
    if (self->instance == 0)
        self->instance = 1;
    hc_gateway_hex (self->instance, self->instance_hex);
    hc_buf_init (&self->render, 0);
    char err [256];
    self->ice = gw_ice_new (cfg, err, sizeof (err));  //  main checked it
    if (!self->rooms || !self->pub || !self->loop || !self->sessions
    ||  !self->enc || !self->dec || !self->ice)
        return self;            //  without a log, START is answered -1
    //  The routing id lets rooms address us by our connection ids
    char routing_id [16];
    snprintf (routing_id, sizeof (routing_id), "gw-%s", self->instance_hex);
    zsock_set_identity (self->rooms, routing_id);
    hc_batch_init (&self->to_rooms, self->rooms);
    zsock_set_sndhwm (self->rooms, 100000);
    zsock_set_rcvhwm (self->rooms, 100000);
    zsock_set_linger (self->rooms, 0);
    zsock_set_immediate (self->rooms, 1);
    hc_link_connect (self->rooms, hc_endpoint_rooms (cfg), cfg);
    gw_link_init (&self->link, cfg->link_timeout_ms);
    self->log = hc_log_new (self->pub, "gateway",
                            hc_config_publish_level (cfg));
    hc_log_track (self->log);
    tl_self = self;
    self->linger = gw_linger_new (self->loop, LINGER_MAX, LINGER_SECONDS);
    ev_timer_init (&self->edge_timer, s_edge_tick, EDGE_TICK, EDGE_TICK);
    self->edge_timer.data = self;
    lws_set_log_level (LLL_ERR | LLL_WARN, s_lws_log);

    ev_io_init (&self->pipe_io, s_wakeup, zsock_fd (pipe), EV_READ);
    ev_io_init (&self->rooms_io, s_wakeup, zsock_fd (self->rooms), EV_READ);
    ev_io_init (&self->pub_io, s_wakeup, zsock_fd (self->pub), EV_READ);
    double heartbeat = (double) cfg->link_heartbeat_ms / 1000;
    ev_timer_init (&self->link_timer, s_link_tick, heartbeat, heartbeat);
    self->link_timer.data = self;
    ev_prepare_init (&self->drain, s_drain);
    ev_idle_init (&self->resume, s_resume);
    ev_timer_init (&self->stop_timer, s_stop_timeout, STOP_GRACE, 0);
    ev_timer_init (&self->stats_timer, s_stats, STATS_INTERVAL,
                   STATS_INTERVAL);
    //  Checked a few times per interval, so pings go out close to on time
    double tick = (double) (cfg->ping_interval_ms < cfg->ping_timeout_ms
                            ? cfg->ping_interval_ms : cfg->ping_timeout_ms)
                / 4000;
    tick = tick < 0.05 ? 0.05 : tick > 5 ? 5 : tick;
    ev_timer_init (&self->liveness_timer, s_liveness, tick, tick);
    double beat = (double) cfg->p2p_heartbeat_interval_ms / 1000;
    ev_timer_init (&self->heartbeat_timer, s_heartbeat, beat, beat);
    self->heartbeat_timer.data = self;
    self->p2p = gw_p2p_result_new ();
    assert (self->p2p);
    self->drain.data = self->stop_timer.data = self->stats_timer.data = self;
    self->liveness_timer.data = self;
    //  Each checked once before the first sleep (s_drain)
    self->pipe_io.data = self->rooms_io.data = self->pub_io.data = self;
    ev_io_start (self->loop, &self->pipe_io);
    ev_io_start (self->loop, &self->rooms_io);
    ev_io_start (self->loop, &self->pub_io);
    ev_prepare_start (self->loop, &self->drain);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (self->ctx) {
        lws_context_destroy (self->ctx);    //  CLOSED for whoever is left
        self->ctx = NULL;
    }
    if (self->loop) {
        ev_io_stop (self->loop, &self->pipe_io);
        ev_io_stop (self->loop, &self->rooms_io);
        ev_io_stop (self->loop, &self->pub_io);
        ev_timer_stop (self->loop, &self->link_timer);
        ev_prepare_stop (self->loop, &self->drain);
        ev_idle_stop (self->loop, &self->resume);
        ev_timer_stop (self->loop, &self->stop_timer);
        ev_timer_stop (self->loop, &self->stats_timer);
        ev_timer_stop (self->loop, &self->liveness_timer);
        ev_timer_stop (self->loop, &self->heartbeat_timer);
        ev_timer_stop (self->loop, &self->edge_timer);
        gw_linger_destroy (&self->linger);
        ev_run (self->loop, 0);             //  lets lws finish its watchers
        ev_loop_destroy (self->loop);
    }
    lws_set_log_level (LLL_ERR | LLL_WARN, NULL);
    tl_self = NULL;
    hc_log_destroy (&self->log);
    hc_buf_free (&self->render);
    //  Every client is closed by now (each CLOSE sent): rooms may forget us
    if (self->rooms && self->enc && self->link.up) {
        s_hello (self, MSG_BYE);
        zsock_set_linger (self->rooms, 500);    //  let CLOSEs and BYE out
    }
    hc_batch_close (&self->to_rooms);
    gw_trace_destroy (&self->trace);
    gw_p2p_result_destroy (&self->p2p);
    msg_enc_destroy (&self->enc);
    msg_dec_destroy (&self->dec);
    if (self->sessions)
        zhashx_destroy (&self->sessions);
    gw_ice_destroy (&self->ice);
    gw_admission_destroy (&self->admission);
    zsock_destroy (&self->rooms);
    zsock_destroy (&self->pub);
    gw_json_teardown ();
    free (self);
    *self_p = NULL;
}

void
gateway_actor (zsock_t *pipe, void *args)
{
    //  Named, so top -H and perf tell the actors apart
    pthread_setname_np (pthread_self (), "hc-gateway");
    self_t *self = s_self_new (pipe, (const hc_config_t *) args);
    bool ready = self->log && self->loop && self->ice;
    zsock_signal (pipe, 0);
    if (ready)
        ev_run (self->loop, 0);
    else {
        //  Could not set up: answer START with -1 and wait for $TERM
        while (true) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            if (command && streq (command, "START"))
                zsock_send (pipe, "i", -1);
            zstr_free (&command);
            if (term)
                break;
        }
    }
    s_self_destroy (&self);
}
