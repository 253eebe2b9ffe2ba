/*  bench_wire.h - the frames homecall-bench sends and reads, per dialect

    signal  /signal: join a room (users "a" and "b"), offer and answer
    p2p     ADD_USER, then OFFER/ANSWER once and UPDATE_OFFER/UPDATE_ANSWER
            after (the call stays up); docs/p2p.md
    peerjs  the PeerJS server's protocol: the id is in the URL, OPEN says
            registered, OFFER/ANSWER carry "dst" and come back with "src"

    Every relayed signal carries an SDP-like text whose "o=hcb " line holds
    the time it was due to be sent and the time it was sent
    (CLOCK_MONOTONIC ns, 20 digits each), so the receiver, in the same
    process, measures latency from the schedule, and apart from it the
    bench's own lateness.
*/
#ifndef BENCH_WIRE_H_INCLUDED
#define BENCH_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BENCH_SIGNAL,
    BENCH_P2P,
    BENCH_PEERJS
} bench_dialect_t;

//  What a frame is to the bench
typedef enum {
    BENCH_IN_OTHER,             //  anything else (p2p connect, PONG, ...)
    BENCH_IN_READY,             //  the answer to the barrier, or OPEN
    BENCH_IN_OFFER,             //  a relayed offer
    BENCH_IN_ANSWER,            //  a relayed answer
    BENCH_IN_ERROR              //  an error frame after ready
} bench_in_t;

//  What to send
typedef enum {
    BENCH_OUT_HELLO,            //  join / ADD_USER (peerjs: nothing)
    BENCH_OUT_BARRIER,          //  a frame that always gets an error
    BENCH_OUT_OFFER,
    BENCH_OUT_ANSWER,
    BENCH_OUT_KEEPALIVE         //  p2p PING, peerjs HEARTBEAT
} bench_out_t;

typedef struct bench_wire_t bench_wire_t;

//  tag prefixes every room and user id, so that two benches do not meet
bench_wire_t *
    bench_wire_new (bench_dialect_t dialect, const char *tag,
                    size_t payload);
void
    bench_wire_destroy (bench_wire_t **self_p);
//  Parses "signal", "p2p", "peerjs"; returns -1 for anything else
int
    bench_wire_dialect (const char *name, bench_dialect_t *dialect);
const char *
    bench_wire_dialect_name (bench_dialect_t dialect);
//  The default path of the dialect ("/signal", "/", "/peerjs")
const char *
    bench_wire_default_path (bench_dialect_t dialect);
//  The request path of connection (pair, caller): base path, plus the
//  peerjs query (id, token, key). Writes at most size bytes.
void
    bench_wire_path (bench_wire_t *self, const char *base, const char *key,
                     int pair, bool caller, char *path, size_t size);
//  Renders one frame into out (at most size bytes); first is the call's
//  first offer or answer (p2p OFFER/ANSWER, later UPDATE_*). Returns the
//  frame's length, 0 for nothing to send (peerjs HELLO, BARRIER).
size_t
    bench_wire_render (bench_wire_t *self, bench_out_t what, int pair,
                       bool caller, bool first, uint64_t due_ns,
                       uint64_t sent_ns, char *out, size_t size);
//  The largest frame render writes
size_t
    bench_wire_max (bench_wire_t *self);
//  Classifies a received frame from its first bytes; for offers and
//  answers *due_ns is the sender's schedule and *sent_ns when it sent
//  (0 if not found)
bench_in_t
    bench_wire_classify (bench_wire_t *self, const char *data, size_t size,
                         bool ready, uint64_t *due_ns, uint64_t *sent_ns);
void
    bench_wire_test (bool verbose);

#endif
