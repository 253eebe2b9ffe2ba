/*  bench_run.h - one homecall-bench run: connections, traffic, figures */
#ifndef BENCH_RUN_H_INCLUDED
#define BENCH_RUN_H_INCLUDED

#include "bench_lat.h"
#include "bench_proc.h"
#include "bench_wire.h"

#include <sys/types.h>

typedef enum {
    BENCH_CLOSED,               //  each pair: offer, wait for the answer, again
    BENCH_OPEN,                 //  signals at a fixed rate, whatever comes back
    BENCH_IDLE                  //  connections that join and stay
} bench_mode_t;

typedef struct {
    bench_mode_t mode;
    bench_dialect_t dialect;
    char host [256];            //  server address
    int port;
    char path [256];            //  request path (the dialect's by default)
    char key [64];              //  peerjs key
    char tag [24];              //  prefix of room and user ids
    int pairs;                  //  active pairs (closed, open)
    int idle;                   //  idle connections held (idle: the count)
    size_t payload;             //  bytes of SDP text per signal
    double duration;            //  seconds measured
    double warmup;              //  seconds before that (closed, open)
    double rate;                //  open: signals per second offered
    int concurrency;            //  handshakes in flight at once
    double connect_timeout;     //  seconds for every connection to be ready
    double ping_interval;       //  the server's, for CPU per ping round
    double keepalive;           //  p2p PING / peerjs HEARTBEAT period
    pid_t pid;                  //  the server, or 0
} bench_opts_t;

typedef struct {
    int connected;              //  connections that became ready
    int connect_failures;       //  handshakes refused or failed
    double connect_s;           //  from the first handshake to all ready
    double measured_s;          //  length of the measured window
    uint64_t round_trips;       //  closed: answers back at the callers
    uint64_t offered;           //  open: signals due in the window
    uint64_t relayed;           //  offers and answers received
    uint64_t errors;            //  error frames after ready
    uint64_t drops;             //  ready connections closed by the server
    bench_lat_summary_t latency;    //  closed: RTT; open: from schedule
    bench_lat_summary_t late;   //  open: send time minus schedule
    bench_lat_summary_t relay;  //  open: arrival minus send time
    double load_begin;          //  1-minute load average as the window began
    double load_end;            //  ... and as it ended
    double self_cpu_s;          //  the bench's own CPU in the window
    bool server;                //  the server's figures below are known
    bench_proc_sample_t cpu;    //  server CPU in the window, RSS at its end
    uint64_t rss_before;        //  server RSS before the first handshake
    uint64_t rss_ready;         //  ... and once every connection was ready
} bench_result_t;

//  Runs one bench; returns 0, or -1 (with a message on stderr) when it
//  could not start or no connection came up
int
    bench_run (const bench_opts_t *opts, bench_result_t *result);

#endif
