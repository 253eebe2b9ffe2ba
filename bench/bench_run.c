/*  bench_run.c - one homecall-bench run: connections, traffic, figures

    One thread, one libev loop (epoll), libwebsockets' client on it as a
    foreign loop. libev rather than lws's default poll() loop: poll scans
    every descriptor at every wake-up, so 19,000 idle connections would
    cost the bench O(n) per relayed message and make it the bottleneck;
    epoll costs only the ready ones. The open loop's schedule is a
    timerfd watched by the same loop, because libev's own timers round
    epoll_wait's timeout to whole milliseconds and that lateness would be
    counted as the server's.

    Connections 0 .. 2*pairs-1 carry traffic (pair i/2; the even one calls),
    the rest are idle ones joined two by two. Idle ones connect first, so
    traffic is measured with them held.
*/
#include "bench_run.h"

#include <ev.h>
#include <libwebsockets.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RX_PREFIX 512           //  bytes of each frame kept to classify it
#define TICK 0.001              //  seconds between handshake batches
#define TICK_SETTLED 0.1        //  ... and between keepalive batches after

typedef enum {
    CONN_WAITING,               //  not started yet
    CONN_CONNECTING,            //  handshake, HELLO, barrier
    CONN_READY,                 //  joined
    CONN_GONE                   //  failed or closed
} conn_state_t;

typedef struct {
    uint8_t what;               //  bench_out_t
    uint64_t due;               //  when it was due (open loop), or 0
} out_t;

typedef struct {
    struct lws *wsi;
    int pair;                   //  pair number: the ids of both ends
    bool caller;                //  the pair's offering side
    bool first;                 //  the next offer/answer opens the call
    conn_state_t state;
    uint64_t sent_at;           //  closed loop: when the offer went out
    out_t *queue;               //  frames to write, a ring
    size_t queue_head, queue_size, queue_room;
    char rx [RX_PREFIX];        //  the current frame's first bytes
    size_t rx_size;
    char path [160];            //  the request path (peerjs: with the id)
} conn_t;

typedef enum {
    PHASE_CONNECT,              //  handshakes
    PHASE_OPENING,              //  open loop: one round trip per pair
    PHASE_WARMUP,               //  traffic, not counted
    PHASE_MEASURE,              //  traffic, counted
    PHASE_DONE
} phase_t;

typedef struct {
    const bench_opts_t *opts;
    bench_result_t *result;
    bench_wire_t *wire;
    struct ev_loop *loop;
    struct lws_context *ctx;
    conn_t *conns;              //  every connection
    int conns_n;
    int active_n;               //  2 * pairs
    int next_start;             //  next connection to start (idle first)
    int in_flight;              //  handshakes not yet ready or failed
    int settled;                //  connections ready or failed
    int pairs_ready;            //  pairs with both ends ready
    int opened;                 //  open loop: pairs past their first round
    double keepalive_credit;    //  keepalives owed (a fraction per tick)
    phase_t phase;
    ev_timer tick;              //  starts handshakes, keepalives
    ev_timer phase_timer;       //  ends warm-up and the measured window
    ev_io schedule_io;          //  open loop: the timerfd
    int schedule_fd;
    uint64_t schedule_t0;       //  open loop: when signal 0 was due
    uint64_t schedule_next;     //  open loop: the next signal's number
    uint64_t measure_from;      //  ns: the window's start
    int keepalive_next;         //  next connection to get a keepalive
    double connect_from;        //  when the first handshake started
    bench_lat_t *latency;
    bench_lat_t *late;
    bench_proc_sample_t cpu_from;
    double self_from;
    unsigned char *scratch;     //  LWS_PRE + the largest frame
    size_t scratch_size;
} self_t;

static void
    s_push (self_t *self, conn_t *conn, bench_out_t what, uint64_t due);

//  No validity timer of lws's per connection (see s_setup)
static const lws_retry_bo_t s_no_validity = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static double
s_self_cpu (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void
s_begin_measure (self_t *self)
{
    self->phase = PHASE_MEASURE;
    bench_lat_reset (self->latency);
    bench_lat_reset (self->late);
    bench_result_t *result = self->result;
    result->round_trips = result->relayed = result->offered = 0;
    result->errors = 0;
    self->measure_from = s_now_ns ();
    self->self_from = s_self_cpu ();
    if (self->opts->pid)
        result->server = bench_proc_sample (self->opts->pid,
                                            &self->cpu_from) == 0;
    ev_timer_set (&self->phase_timer, self->opts->duration, 0);
    ev_timer_start (self->loop, &self->phase_timer);
}

static void
s_end_measure (self_t *self)
{
    self->phase = PHASE_DONE;
    bench_result_t *result = self->result;
    result->measured_s = (double) (s_now_ns () - self->measure_from) / 1e9;
    result->self_cpu_s = s_self_cpu () - self->self_from;
    bench_proc_sample_t after;
    if (result->server && bench_proc_sample (self->opts->pid, &after) == 0)
        bench_proc_delta (&self->cpu_from, &after, &result->cpu);
    else
        result->server = false;
    result->latency = bench_lat_summary (self->latency);
    result->late = bench_lat_summary (self->late);
    ev_break (self->loop, EVBREAK_ALL);
}

static void
s_phase_timer (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    self_t *self = (self_t *) timer->data;
    if (self->phase == PHASE_WARMUP)
        s_begin_measure (self);
    else
        s_end_measure (self);
}

static void
s_begin_warmup (self_t *self)
{
    self->phase = PHASE_WARMUP;
    ev_timer_set (&self->phase_timer, self->opts->warmup, 0);
    ev_timer_start (self->loop, &self->phase_timer);
}

//  ---------------------------------------------------------------------
//  Open loop: signal k is due at t0 + k / rate, from pair k % pairs,
//  the caller and the callee by turns

static void
s_arm_schedule (self_t *self)
{
    uint64_t due = self->schedule_t0
                 + (uint64_t) ((double) self->schedule_next * 1e9
                               / self->opts->rate);
    struct itimerspec spec;
    memset (&spec, 0, sizeof (spec));
    spec.it_value.tv_sec = (time_t) (due / 1000000000ull);
    spec.it_value.tv_nsec = (long) (due % 1000000000ull);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
        spec.it_value.tv_nsec = 1;
    timerfd_settime (self->schedule_fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void
s_schedule_fired (struct ev_loop *loop, ev_io *io, int revents)
{
    (void) loop;
    (void) revents;
    self_t *self = (self_t *) io->data;
    uint64_t expirations;
    if (read (self->schedule_fd, &expirations, sizeof (expirations)) < 0
    &&  errno != EAGAIN)
        return;
    if (self->phase != PHASE_WARMUP && self->phase != PHASE_MEASURE)
        return;
    uint64_t now = s_now_ns ();
    int pairs = self->opts->pairs;
    while (true) {
        uint64_t k = self->schedule_next;
        uint64_t due = self->schedule_t0
                     + (uint64_t) ((double) k * 1e9 / self->opts->rate);
        if (due > now)
            break;
        bool caller = (k / (uint64_t) pairs) % 2 == 0;
        conn_t *conn = &self->conns [2 * (int) (k % (uint64_t) pairs)
                                     + (caller ? 0 : 1)];
        s_push (self, conn, caller ? BENCH_OUT_OFFER : BENCH_OUT_ANSWER, due);
        if (self->phase == PHASE_MEASURE)
            self->result->offered++;
        self->schedule_next++;
    }
    s_arm_schedule (self);
}

static void
s_begin_schedule (self_t *self)
{
    self->schedule_t0 = s_now_ns ();
    self->schedule_next = 0;
    s_arm_schedule (self);
    s_begin_warmup (self);
}

//  ---------------------------------------------------------------------
//  Traffic

static void
s_all_settled (self_t *self)
{
    bench_result_t *result = self->result;
    result->connect_s = ev_now (self->loop) - self->connect_from;
    //  No more handshakes: the tick only paces keepalives now
    self->tick.repeat = TICK_SETTLED;
    ev_timer_again (self->loop, &self->tick);
    if (self->opts->pid) {
        bench_proc_sample_t sample;
        if (bench_proc_sample (self->opts->pid, &sample) == 0)
            result->rss_ready = sample.rss_bytes;
    }
    if (result->connected == 0) {
        self->phase = PHASE_DONE;
        ev_break (self->loop, EVBREAK_ALL);
        return;
    }
    if (self->opts->mode == BENCH_IDLE) {
        s_begin_measure (self);
        return;
    }
    //  A pair with an end that failed sends nothing
    for (int i = 0; i < self->active_n; i += 2)
        if (self->conns [i].state == CONN_READY
        &&  self->conns [i + 1].state == CONN_READY) {
            self->pairs_ready++;
            s_push (self, &self->conns [i], BENCH_OUT_OFFER, 0);
        }
    if (self->opts->mode == BENCH_OPEN && self->pairs_ready)
        self->phase = PHASE_OPENING;
    else
    if (self->opts->mode == BENCH_OPEN)
        s_begin_schedule (self);
    else
        s_begin_warmup (self);
}

static void
s_ready (self_t *self, conn_t *conn)
{
    conn->state = CONN_READY;
    self->in_flight--;
    self->settled++;
    self->result->connected++;
    if (self->settled == self->conns_n)
        s_all_settled (self);
}

static void
s_failed (self_t *self, conn_t *conn)
{
    bool counted = conn->state == CONN_CONNECTING;
    if (conn->state == CONN_READY && self->phase != PHASE_DONE)
        self->result->drops++;
    conn->state = CONN_GONE;
    conn->wsi = NULL;
    if (counted) {
        self->in_flight--;
        self->settled++;
        self->result->connect_failures++;
        if (self->settled == self->conns_n)
            s_all_settled (self);
    }
}

//  A whole frame arrived
static void
s_received (self_t *self, conn_t *conn)
{
    uint64_t due;
    bench_in_t kind = bench_wire_classify (self->wire, conn->rx,
                                           conn->rx_size,
                                           conn->state == CONN_READY, &due);
    if (kind == BENCH_IN_READY && conn->state == CONN_CONNECTING) {
        s_ready (self, conn);
        return;
    }
    bool measuring = self->phase == PHASE_MEASURE;
    if (kind == BENCH_IN_ERROR) {
        if (measuring)
            self->result->errors++;
        return;
    }
    if (kind != BENCH_IN_OFFER && kind != BENCH_IN_ANSWER)
        return;
    if (measuring)
        self->result->relayed++;
    uint64_t now = s_now_ns ();
    if (self->opts->mode == BENCH_OPEN && self->phase != PHASE_OPENING) {
        if (measuring && due)
            bench_lat_add (self->latency, (int64_t) (now - due));
        return;
    }
    if (kind == BENCH_IN_OFFER && !conn->caller) {
        s_push (self, conn, BENCH_OUT_ANSWER, 0);
        return;
    }
    if (kind != BENCH_IN_ANSWER || !conn->caller)
        return;
    //  A round trip ended at the caller
    if (self->phase == PHASE_OPENING) {
        if (++self->opened == self->pairs_ready)
            s_begin_schedule (self);
        return;
    }
    if (measuring) {
        self->result->round_trips++;
        bench_lat_add (self->latency, (int64_t) (now - conn->sent_at));
    }
    if (self->phase != PHASE_DONE)
        s_push (self, conn, BENCH_OUT_OFFER, 0);
}

//  Renders and writes one frame; false if the connection failed
static bool
s_write (self_t *self, conn_t *conn, out_t out)
{
    bool signal = out.what == BENCH_OUT_OFFER || out.what == BENCH_OUT_ANSWER;
    uint64_t now = s_now_ns ();
    char *frame = (char *) self->scratch + LWS_PRE;
    size_t size = bench_wire_render (self->wire, (bench_out_t) out.what,
                                     conn->pair, conn->caller, conn->first,
                                     out.due ? out.due : now, frame,
                                     self->scratch_size - LWS_PRE);
    if (signal) {
        conn->first = false;
        if (out.due && self->phase == PHASE_MEASURE)
            bench_lat_add (self->late, (int64_t) (now - out.due));
        conn->sent_at = now;
    }
    return size == 0
        || lws_write (conn->wsi, (unsigned char *) frame, size,
                      LWS_WRITE_TEXT) >= (int) size;
}

static void
s_writeable (self_t *self, conn_t *conn)
{
    if (conn->queue_size == 0)
        return;
    out_t out = conn->queue [conn->queue_head];
    conn->queue_head = (conn->queue_head + 1) % conn->queue_room;
    conn->queue_size--;
    if (s_write (self, conn, out) && conn->queue_size)
        lws_callback_on_writable (conn->wsi);
}

//  Sends a frame now when the socket takes it, else queues it for a
//  write slot. Writing at once, outside WRITEABLE, is a bench-only
//  shortcut: asking for a slot costs two epoll_ctl calls per message
//  (POLLOUT on, then off), which would make the bench dearer than the
//  relay it measures; lws keeps what a short write leaves and holds
//  further writes (lws_send_pipe_choked) until it has sent it.
static void
s_push (self_t *self, conn_t *conn, bench_out_t what, uint64_t due)
{
    if (!conn->wsi || conn->state == CONN_GONE)
        return;
    if (conn->queue_size == 0 && !lws_send_pipe_choked (conn->wsi)) {
        out_t out = {(uint8_t) what, due};
        s_write (self, conn, out);
        return;
    }
    if (conn->queue_size == conn->queue_room) {
        size_t room = conn->queue_room ? conn->queue_room * 2 : 4;
        out_t *grown = (out_t *) malloc (room * sizeof (out_t));
        if (!grown)
            return;
        for (size_t i = 0; i < conn->queue_size; i++)
            grown [i] = conn->queue [(conn->queue_head + i) % conn->queue_room];
        free (conn->queue);
        conn->queue = grown;
        conn->queue_room = room;
        conn->queue_head = 0;
    }
    out_t *slot = &conn->queue [(conn->queue_head + conn->queue_size)
                                % conn->queue_room];
    slot->what = (uint8_t) what;
    slot->due = due;
    conn->queue_size++;
    lws_callback_on_writable (conn->wsi);
}

//  Runs on the bench's one thread, from lws's service of the loop
static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
    conn_t *conn = (conn_t *) user;
    struct lws_context *ctx = lws_get_context (wsi);
    self_t *self = ctx ? (self_t *) lws_context_user (ctx) : NULL;
    if (!self || !conn)
        return lws_callback_http_dummy (wsi, reason, user, in, len);
    switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            conn->wsi = wsi;
            s_push (self, conn, BENCH_OUT_HELLO, 0);
            s_push (self, conn, BENCH_OUT_BARRIER, 0);
            break;
        case LWS_CALLBACK_CLIENT_RECEIVE: {
            size_t room = RX_PREFIX - conn->rx_size;
            size_t take = len < room ? len : room;
            memcpy (conn->rx + conn->rx_size, in, take);
            conn->rx_size += take;
            if (lws_is_final_fragment (wsi)
            &&  !lws_remaining_packet_payload (wsi)) {
                s_received (self, conn);
                conn->rx_size = 0;
            }
            break;
        }
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            s_writeable (self, conn);
            break;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        case LWS_CALLBACK_CLIENT_CLOSED:
            s_failed (self, conn);
            break;
        default:
            break;
    }
    return 0;
}

static const struct lws_protocols s_protocols [] = {
    {"bench", s_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

static void
s_start (self_t *self, conn_t *conn)
{
    struct lws_client_connect_info info;
    memset (&info, 0, sizeof (info));
    info.context = self->ctx;
    info.address = self->opts->host;
    info.port = self->opts->port;
    info.path = conn->path;
    info.host = self->opts->host;
    info.origin = self->opts->host;
    info.local_protocol_name = "bench";
    info.userdata = conn;
    info.retry_and_idle_policy = &s_no_validity;
    conn->state = CONN_CONNECTING;
    self->in_flight++;
    conn->wsi = lws_client_connect_via_info (&info);
    if (!conn->wsi)
        s_failed (self, conn);
}

//  The handshakes took too long: whatever is not ready counts as failed
//  (and is closed), and the run goes on with the rest
static void
s_give_up (self_t *self)
{
    int left = self->conns_n - self->settled;
    for (int i = 0; i < self->conns_n; i++) {
        conn_t *conn = &self->conns [i];
        if (conn->state != CONN_WAITING && conn->state != CONN_CONNECTING)
            continue;
        if (conn->wsi)
            lws_set_timeout (conn->wsi, PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE,
                             LWS_TO_KILL_ASYNC);
        conn->state = CONN_GONE;
        conn->wsi = NULL;
    }
    fprintf (stderr, "homecall-bench: %d connections not ready after %.0f s\n",
             left, self->opts->connect_timeout);
    self->result->connect_failures += left;
    self->in_flight = 0;
    self->next_start = self->settled = self->conns_n;
    s_all_settled (self);
}

//  Every TICK: more handshakes while under the concurrency; keepalives
static void
s_tick (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    self_t *self = (self_t *) timer->data;
    if (self->phase == PHASE_CONNECT
    &&  ev_now (loop) - self->connect_from > self->opts->connect_timeout) {
        s_give_up (self);
        return;
    }
    while (self->next_start < self->conns_n
       &&  self->in_flight < self->opts->concurrency) {
        //  Idle connections first (they are the ones after the pairs)
        int index = self->next_start < self->conns_n - self->active_n
                  ? self->active_n + self->next_start
                  : self->next_start - (self->conns_n - self->active_n);
        self->next_start++;
        s_start (self, &self->conns [index]);
    }
    //  A share of the connections each tick, so that all get one per period
    if (self->opts->keepalive > 0 && self->opts->dialect != BENCH_SIGNAL) {
        self->keepalive_credit += (double) self->conns_n * timer->repeat
                                / self->opts->keepalive;
        for (; self->keepalive_credit >= 1; self->keepalive_credit--) {
            conn_t *conn = &self->conns [self->keepalive_next];
            self->keepalive_next = (self->keepalive_next + 1) % self->conns_n;
            if (conn->state == CONN_READY)
                s_push (self, conn, BENCH_OUT_KEEPALIVE, 0);
        }
    }
}

static int
s_setup (self_t *self)
{
    const bench_opts_t *opts = self->opts;
    self->wire = bench_wire_new (opts->dialect, opts->tag, opts->payload);
    self->latency = bench_lat_new ();
    self->late = bench_lat_new ();
    self->active_n = opts->mode == BENCH_IDLE ? 0 : 2 * opts->pairs;
    self->conns_n = self->active_n + opts->idle;
    self->conns = (conn_t *) calloc ((size_t) self->conns_n + 1,
                                     sizeof (conn_t));
    if (!self->wire || !self->latency || !self->late || !self->conns)
        return -1;
    self->scratch_size = LWS_PRE + bench_wire_max (self->wire);
    self->scratch = (unsigned char *) malloc (self->scratch_size);
    if (!self->scratch)
        return -1;
    for (int i = 0; i < self->conns_n; i++) {
        conn_t *conn = &self->conns [i];
        int k = i < self->active_n ? i : i - self->active_n;
        conn->pair = (i < self->active_n ? 0 : opts->pairs) + k / 2;
        conn->caller = k % 2 == 0;
        conn->first = true;
        bench_wire_path (self->wire, opts->path, opts->key, conn->pair,
                         conn->caller, conn->path, sizeof (conn->path));
    }
    self->loop = ev_loop_new (EVBACKEND_EPOLL);
    if (!self->loop)
        return -1;
    lws_set_log_level (LLL_ERR, NULL);
    void *foreign_loops [] = {self->loop};
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof (info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign_loops;
    info.user = self;
    //  No fd_limit_per_thread: with it lws 4.1 finds a wsi from its fd by
    //  a linear scan (max_fds_unrelated_to_ulimit), O(connections) per
    //  event; without it, by a table as large as RLIMIT_NOFILE, which the
    //  program raised. No validity pings of our own: lws keeps its timers
    //  in one sorted list, so a timer per connection costs O(connections)
    //  at each re-arm; the server's pings are answered all the same.
    info.retry_and_idle_policy = &s_no_validity;
    info.timeout_secs = 30;
    self->ctx = lws_create_context (&info);
    if (!self->ctx)
        return -1;
    ev_timer_init (&self->tick, s_tick, TICK, TICK);
    self->tick.data = self;
    ev_timer_init (&self->phase_timer, s_phase_timer, 1, 0);
    self->phase_timer.data = self;
    self->schedule_fd = -1;
    if (opts->mode == BENCH_OPEN) {
        self->schedule_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK);
        if (self->schedule_fd < 0)
            return -1;
        ev_io_init (&self->schedule_io, s_schedule_fired, self->schedule_fd,
                    EV_READ);
        self->schedule_io.data = self;
        ev_io_start (self->loop, &self->schedule_io);
    }
    return 0;
}

static void
s_teardown (self_t *self)
{
    if (self->ctx)
        lws_context_destroy (self->ctx);    //  closes every connection
    if (self->loop) {
        ev_timer_stop (self->loop, &self->tick);
        ev_timer_stop (self->loop, &self->phase_timer);
        if (self->schedule_fd >= 0)
            ev_io_stop (self->loop, &self->schedule_io);
        ev_run (self->loop, 0);             //  lets lws finish its watchers
        ev_loop_destroy (self->loop);
    }
    if (self->schedule_fd >= 0)
        close (self->schedule_fd);
    for (int i = 0; self->conns && i < self->conns_n; i++)
        free (self->conns [i].queue);
    free (self->conns);
    free (self->scratch);
    bench_lat_destroy (&self->latency);
    bench_lat_destroy (&self->late);
    bench_wire_destroy (&self->wire);
}

int
bench_run (const bench_opts_t *opts, bench_result_t *result)
{
    self_t self;
    memset (&self, 0, sizeof (self));
    memset (result, 0, sizeof (*result));
    self.opts = opts;
    self.result = result;
    self.schedule_fd = -1;
    int rc = -1;
    if (s_setup (&self)) {
        fprintf (stderr, "homecall-bench: cannot set up (%s)\n",
                 strerror (errno));
        s_teardown (&self);
        return -1;
    }
    if (opts->pid) {
        bench_proc_sample_t sample;
        if (bench_proc_sample (opts->pid, &sample) == 0)
            result->rss_before = sample.rss_bytes;
        else
            fprintf (stderr, "homecall-bench: no process %d\n",
                     (int) opts->pid);
    }
    self.connect_from = ev_now (self.loop);
    ev_timer_start (self.loop, &self.tick);
    ev_run (self.loop, 0);
    if (result->connected == 0)
        fprintf (stderr, "homecall-bench: no connection to %s:%d%s came up\n",
                 opts->host, opts->port, opts->path);
    else
        rc = 0;
    s_teardown (&self);
    return rc;
}
