/*  gateway.c - the WebSocket actor: its loop and its wiring

    One thread owns one libev loop (epoll). libwebsockets runs on it as a
    foreign loop; the actor's ZeroMQ sockets are watched by ev_io on their
    ZMQ_FD and drained by an ev_prepare watcher before every sleep, so an
    edge consumed by an lws callback's send is not lost (docs/gateway-loop.md).
    Everything below runs on that thread; nothing here blocks.

    HWM policy: sends to rooms use ZMQ_DONTWAIT. When rooms cannot keep up
    and the DEALER's queue is full, the client frame is dropped and the
    client gets a server_busy error. Deliveries to a client queue in its
    session up to SEND_QUEUE_MAX bytes; a client that lets more pile up is
    disconnected, never waited for (gw_out.c).

    The jobs are in files of their own, on the state in gw_self.h: the lws
    callback (gw_callback.c), sockets before their upgrade (gw_handshake.c),
    client frames (gw_frames.c), frames out (gw_out.c), what rooms sends
    and the link to it (gw_from_rooms.c), the periodic walks (gw_timers.c).
    This file makes the state, starts lws and the timers, serves the pipe
    and drains the sockets. The DEALER to rooms is ZMQ_IMMEDIATE, so
    nothing queues for a rooms that is not there.
*/
#include "gateway.h"
#include "gw_callback.h"
#include "gw_from_rooms.h"
#include "gw_handshake.h"
#include "gw_json.h"
#include "gw_self.h"
#include "gw_timers.h"
#include "gw_tls.h"
#include "../common/endpoints.h"
#include "../common/idmap.h"
#include "../common/link.h"
#include "../common/sock.h"

#include <sys/random.h>

#define DRAIN_BATCH 1024        //  messages per socket per loop turn
#define STOP_GRACE 2.0          //  seconds clients get to take a 1001 close
#define STATS_INTERVAL 60.0     //  seconds between gateway.stats records
#define LINK_WAIT_MS 2000       //  START waits this long for rooms at most
#define EDGE_TICK 0.25          //  seconds between handshake deadline checks
#define LINGER_MAX 4096         //  sockets lingering at once
#define LINGER_SECONDS 2.0      //  how long one lingers at most

//  True if sock has a message; a terminating context stops the loop
static bool
s_readable (gw_self_t *self, zsock_t *sock)
{
    bool readable = hc_sock_readable (sock, &self->terminated);
    if (self->terminated)
        ev_break (self->loop, EVBREAK_ALL);
    return readable;
}

//  Says HELLO until rooms answers, for at most LINK_WAIT_MS, so that a
//  gateway started beside a running rooms takes clients from the start
static void
s_link_wait (gw_self_t *self)
{
    int64_t until = zclock_mono () + LINK_WAIT_MS;
    zmq_pollitem_t item = {zsock_resolve (self->rooms), 0, ZMQ_POLLIN, 0};
    while (!self->link.up && !self->terminated && zclock_mono () < until) {
        gw_from_rooms_hello (self, MSG_HELLO);
        hc_batch_flush (&self->to_rooms);
        zmq_poll (&item, 1, 50);
        while (!self->terminated && s_readable (self, self->rooms))
            gw_from_rooms_receive (self);
    }
}

static int
s_start (gw_self_t *self)
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
    info.protocols = gw_callback_protocols;
    info.options = LWS_SERVER_OPTION_LIBEV;     //  UTF-8: gw_frames.c checks
    //  Liveness is ours (gw_timers.c). lws's default idle policy (a ping
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
    //  hold every connection and pending handshake (gw_handshake.c
    //  bounds those, so they cannot take the places of connections)
    //  lws's own handshake timers, behind ours (gw_handshake.c)
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
s_begin_stop (gw_self_t *self)
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
s_handle_pipe (gw_self_t *self)
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
    gw_self_t *self = (gw_self_t *) watcher->data;
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
            gw_from_rooms_receive (self);
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

static gw_self_t *
s_self_new (zsock_t *pipe, const hc_config_t *cfg)
{
    gw_self_t *self = (gw_self_t *) zmalloc (sizeof (gw_self_t));
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
    self->refusals = gw_refusals_new (self->log);
    gw_handshake_log_lws (self);
    self->linger = gw_linger_new (self->loop, LINGER_MAX, LINGER_SECONDS);
    ev_timer_init (&self->edge_timer, gw_handshake_tick, EDGE_TICK,
                   EDGE_TICK);
    self->edge_timer.data = self;

    ev_io_init (&self->pipe_io, s_wakeup, zsock_fd (pipe), EV_READ);
    ev_io_init (&self->rooms_io, s_wakeup, zsock_fd (self->rooms), EV_READ);
    ev_io_init (&self->pub_io, s_wakeup, zsock_fd (self->pub), EV_READ);
    double heartbeat = (double) cfg->link_heartbeat_ms / 1000;
    ev_timer_init (&self->link_timer, gw_from_rooms_link_tick, heartbeat, heartbeat);
    self->link_timer.data = self;
    ev_prepare_init (&self->drain, s_drain);
    ev_idle_init (&self->resume, s_resume);
    ev_timer_init (&self->stop_timer, s_stop_timeout, STOP_GRACE, 0);
    ev_timer_init (&self->stats_timer, gw_timers_stats, STATS_INTERVAL,
                   STATS_INTERVAL);
    //  Checked a few times per interval, so pings go out close to on time
    double tick = (double) (cfg->ping_interval_ms < cfg->ping_timeout_ms
                            ? cfg->ping_interval_ms : cfg->ping_timeout_ms)
                / 4000;
    tick = tick < 0.05 ? 0.05 : tick > 5 ? 5 : tick;
    ev_timer_init (&self->liveness_timer, gw_timers_liveness, tick, tick);
    double beat = (double) cfg->p2p_heartbeat_interval_ms / 1000;
    ev_timer_init (&self->heartbeat_timer, gw_timers_heartbeat, beat, beat);
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
s_self_destroy (gw_self_t **self_p)
{
    gw_self_t *self = *self_p;
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
    gw_handshake_log_lws (NULL);
    gw_refusals_destroy (&self->refusals);
    hc_log_destroy (&self->log);
    hc_buf_free (&self->render);
    //  Every client is closed by now (each CLOSE sent): rooms may forget us
    if (self->rooms && self->enc && self->link.up) {
        gw_from_rooms_hello (self, MSG_BYE);
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
    gw_self_t *self = s_self_new (pipe, (const hc_config_t *) args);
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
