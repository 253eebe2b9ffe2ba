/*  bench_run.c - one homecall-bench run: connections, traffic, figures

    One thread, one loop: bench_net's epoll (19,000 idle connections cost
    it nothing per message; only the ready ones are looked at). Each loop
    turn: wait until the next deadline (a signal due, a tick, the end of
    a phase) or a socket event; read the clock once and stamp every
    frame that arrived with it; read it again and queue every signal due
    by then; send what the turn queued, one send() per connection.

    Connections 0 .. 2*pairs-1 carry traffic (pair i/2; the even one calls),
    the rest are idle ones joined two by two. Idle ones connect first, so
    traffic is measured with them held.
*/
#include "bench_run.h"
#include "bench_net.h"
#include "bench_sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define TICK 1000000ull         //  ns between handshake batches
#define TICK_SETTLED 100000000ull   //  ... and between keepalive batches after
#define NEVER UINT64_MAX

typedef enum {
    CONN_WAITING,               //  not started yet
    CONN_CONNECTING,            //  handshake, HELLO, barrier
    CONN_READY,                 //  joined
    CONN_GONE                   //  failed or closed
} conn_state_t;

typedef struct {
    bench_link_t link;          //  its socket; link.user is the conn
    int pair;                   //  pair number: the ids of both ends
    bool caller;                //  the pair's offering side
    bool first;                 //  the next offer/answer opens the call
    conn_state_t state;
    uint64_t sent_at;           //  closed loop: when the offer went out
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
    bench_net_t *net;
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
    uint64_t now;               //  ns: this loop turn's clock
    uint64_t tick_at;           //  ns: the next tick
    uint64_t tick_period;       //  ns: TICK, then TICK_SETTLED
    uint64_t phase_at;          //  ns: when warm-up or the window ends
    bench_sched_t sched;        //  open loop: which signal is due when
    uint64_t measure_from;      //  ns: the window's start
    int keepalive_next;         //  next connection to get a keepalive
    uint64_t connect_from;      //  ns: when the first handshake started
    bench_lat_t *latency;       //  closed: RTT; open: from the schedule
    bench_lat_t *late;          //  open: sent minus due
    bench_lat_t *relay;         //  open: arrived minus sent
    bench_proc_sample_t cpu_from;
    double self_from;
    char *scratch;              //  the largest frame, rendered
    size_t scratch_size;
} self_t;

//  No connection to the server comes from a pointer other than these
static conn_t *
s_conn (bench_link_t *link)
{
    return (conn_t *) link->user;
}

static double
s_self_cpu (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

//  ---------------------------------------------------------------------
//  Phases

static void
s_begin_measure (self_t *self)
{
    self->phase = PHASE_MEASURE;
    bench_lat_reset (self->latency);
    bench_lat_reset (self->late);
    bench_lat_reset (self->relay);
    bench_result_t *result = self->result;
    result->round_trips = result->relayed = result->offered = 0;
    result->errors = 0;
    result->load_begin = bench_proc_loadavg ();
    self->measure_from = bench_net_now ();
    self->self_from = s_self_cpu ();
    if (self->opts->pid)
        result->server = bench_proc_sample (self->opts->pid,
                                            &self->cpu_from) == 0;
    self->phase_at = self->measure_from
                   + (uint64_t) (self->opts->duration * 1e9);
}

static void
s_end_measure (self_t *self)
{
    self->phase = PHASE_DONE;
    self->phase_at = NEVER;
    bench_result_t *result = self->result;
    result->measured_s = (double) (bench_net_now () - self->measure_from)
                       / 1e9;
    result->self_cpu_s = s_self_cpu () - self->self_from;
    bench_proc_sample_t after;
    if (result->server && bench_proc_sample (self->opts->pid, &after) == 0)
        bench_proc_delta (&self->cpu_from, &after, &result->cpu);
    else
        result->server = false;
    result->load_end = bench_proc_loadavg ();
    result->latency = bench_lat_summary (self->latency);
    result->late = bench_lat_summary (self->late);
    result->relay = bench_lat_summary (self->relay);
}

static void
s_begin_warmup (self_t *self)
{
    self->phase = PHASE_WARMUP;
    self->phase_at = self->now + (uint64_t) (self->opts->warmup * 1e9);
}

static void
s_begin_schedule (self_t *self)
{
    bench_sched_start (&self->sched, self->now, self->opts->rate,
                       self->opts->pairs);
    s_begin_warmup (self);
}

//  ---------------------------------------------------------------------
//  Traffic

//  Renders one frame and queues it; signals carry their due time (open
//  loop; else now) and now as their send time
static void
s_push (self_t *self, conn_t *conn, bench_out_t what, uint64_t due)
{
    if (conn->state == CONN_GONE)
        return;
    bool signal = what == BENCH_OUT_OFFER || what == BENCH_OUT_ANSWER;
    size_t size = bench_wire_render (self->wire, what, conn->pair,
                                     conn->caller, conn->first,
                                     due ? due : self->now, self->now,
                                     self->scratch, self->scratch_size);
    if (size && bench_net_send (self->net, &conn->link, self->scratch, size))
        return;
    if (signal) {
        conn->first = false;
        if (due && self->phase == PHASE_MEASURE)
            bench_lat_add (self->late, (int64_t) (self->now - due));
        conn->sent_at = self->now;
    }
}

//  Every signal due by now, each queued on its connection
static void
s_send_due (self_t *self)
{
    while (bench_sched_due (&self->sched) <= self->now) {
        int pair;
        bool caller;
        uint64_t due = bench_sched_take (&self->sched, &pair, &caller);
        conn_t *conn = &self->conns [2 * pair + (caller ? 0 : 1)];
        s_push (self, conn, caller ? BENCH_OUT_OFFER : BENCH_OUT_ANSWER, due);
        if (self->phase == PHASE_MEASURE)
            self->result->offered++;
    }
}

static void
s_all_settled (self_t *self)
{
    bench_result_t *result = self->result;
    result->connect_s = (double) (self->now - self->connect_from) / 1e9;
    //  No more handshakes: the tick only paces keepalives now
    self->tick_period = TICK_SETTLED;
    if (self->opts->pid) {
        bench_proc_sample_t sample;
        if (bench_proc_sample (self->opts->pid, &sample) == 0)
            result->rss_ready = sample.rss_bytes;
    }
    if (result->connected == 0) {
        self->phase = PHASE_DONE;
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

//  bench_net: the link failed or the server closed it
static void
s_closed (void *arg, bench_link_t *link, bool was_open)
{
    (void) was_open;
    self_t *self = (self_t *) arg;
    conn_t *conn = s_conn (link);
    bool counted = conn->state == CONN_CONNECTING;
    if (conn->state == CONN_READY && self->phase != PHASE_DONE)
        self->result->drops++;
    conn->state = CONN_GONE;
    if (counted) {
        self->in_flight--;
        self->settled++;
        self->result->connect_failures++;
        if (self->settled == self->conns_n)
            s_all_settled (self);
    }
}

//  bench_net: the upgrade is done; the dialect's hello and the barrier
static void
s_opened (void *arg, bench_link_t *link)
{
    self_t *self = (self_t *) arg;
    s_push (self, s_conn (link), BENCH_OUT_HELLO, 0);
    s_push (self, s_conn (link), BENCH_OUT_BARRIER, 0);
}

//  bench_net: a whole message arrived (its first bytes), at self->now
static void
s_message (void *arg, bench_link_t *link, const char *data, size_t size)
{
    self_t *self = (self_t *) arg;
    conn_t *conn = s_conn (link);
    uint64_t due, sent;
    bench_in_t kind = bench_wire_classify (self->wire, data, size,
                                           conn->state == CONN_READY, &due,
                                           &sent);
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
    uint64_t now = self->now;
    if (self->opts->mode == BENCH_OPEN && self->phase != PHASE_OPENING) {
        if (measuring && due)
            bench_lat_add (self->latency, (int64_t) (now - due));
        if (measuring && sent)
            bench_lat_add (self->relay, (int64_t) (now - sent));
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

//  ---------------------------------------------------------------------
//  Connections

static void
s_start (self_t *self, conn_t *conn)
{
    conn->state = CONN_CONNECTING;
    self->in_flight++;
    if (bench_net_connect (self->net, &conn->link, conn->path))
        s_closed (self, &conn->link, false);
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
        bench_net_close (self->net, &conn->link);
        conn->state = CONN_GONE;
    }
    fprintf (stderr, "homecall-bench: %d connections not ready after %.0f s\n",
             left, self->opts->connect_timeout);
    self->result->connect_failures += left;
    self->in_flight = 0;
    self->next_start = self->settled = self->conns_n;
    s_all_settled (self);
}

//  Every tick: more handshakes while under the concurrency; keepalives
static void
s_tick (self_t *self)
{
    self->tick_at = self->now + self->tick_period;
    if (self->phase == PHASE_CONNECT
    &&  (double) (self->now - self->connect_from) / 1e9
        > self->opts->connect_timeout) {
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
        self->keepalive_credit += (double) self->conns_n
                                * ((double) self->tick_period / 1e9)
                                / self->opts->keepalive;
        for (; self->keepalive_credit >= 1; self->keepalive_credit--) {
            conn_t *conn = &self->conns [self->keepalive_next];
            self->keepalive_next = (self->keepalive_next + 1) % self->conns_n;
            if (conn->state == CONN_READY)
                s_push (self, conn, BENCH_OUT_KEEPALIVE, 0);
        }
    }
}

//  The earliest deadline of the loop
static uint64_t
s_next_wake (self_t *self)
{
    uint64_t wake = self->tick_at < self->phase_at ? self->tick_at
                                                   : self->phase_at;
    uint64_t due = bench_sched_due (&self->sched);
    return due < wake ? due : wake;
}

static void
s_loop (self_t *self)
{
    while (self->phase != PHASE_DONE) {
        bench_net_wait (self->net, s_next_wake (self));
        self->now = bench_net_now ();       //  when these frames were there
        bench_net_dispatch (self->net);
        self->now = bench_net_now ();
        s_send_due (self);
        if (self->now >= self->tick_at)
            s_tick (self);
        if (self->now >= self->phase_at) {
            if (self->phase == PHASE_WARMUP)
                s_begin_measure (self);
            else
                s_end_measure (self);
        }
        bench_net_flush (self->net);
    }
}

static int
s_setup (self_t *self)
{
    const bench_opts_t *opts = self->opts;
    self->wire = bench_wire_new (opts->dialect, opts->tag, opts->payload);
    self->latency = bench_lat_new ();
    self->late = bench_lat_new ();
    self->relay = bench_lat_new ();
    self->active_n = opts->mode == BENCH_IDLE ? 0 : 2 * opts->pairs;
    self->conns_n = self->active_n + opts->idle;
    self->conns = (conn_t *) calloc ((size_t) self->conns_n + 1,
                                     sizeof (conn_t));
    if (!self->wire || !self->latency || !self->late || !self->relay
    ||  !self->conns)
        return -1;
    self->scratch_size = bench_wire_max (self->wire);
    self->scratch = (char *) malloc (self->scratch_size);
    if (!self->scratch)
        return -1;
    for (int i = 0; i < self->conns_n; i++) {
        conn_t *conn = &self->conns [i];
        bench_net_link_init (&conn->link, conn);
        int k = i < self->active_n ? i : i - self->active_n;
        conn->pair = (i < self->active_n ? 0 : opts->pairs) + k / 2;
        conn->caller = k % 2 == 0;
        conn->first = true;
        bench_wire_path (self->wire, opts->path, opts->key, conn->pair,
                         conn->caller, conn->path, sizeof (conn->path));
    }
    bench_net_fns_t fns = {s_opened, s_message, s_closed};
    self->net = bench_net_new (opts->host, opts->port, &fns, self);
    return self->net ? 0 : -1;
}

static void
s_teardown (self_t *self)
{
    for (int i = 0; self->net && self->conns && i < self->conns_n; i++)
        bench_net_close (self->net, &self->conns [i].link);
    bench_net_destroy (&self->net);
    free (self->conns);
    free (self->scratch);
    bench_lat_destroy (&self->latency);
    bench_lat_destroy (&self->late);
    bench_lat_destroy (&self->relay);
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
    self.now = self.connect_from = bench_net_now ();
    self.tick_at = self.now;
    self.tick_period = TICK;
    self.phase_at = NEVER;
    s_loop (&self);
    int rc = -1;
    if (result->connected == 0)
        fprintf (stderr, "homecall-bench: no connection to %s:%d%s came up\n",
                 opts->host, opts->port, opts->path);
    else
        rc = 0;
    s_teardown (&self);
    return rc;
}
