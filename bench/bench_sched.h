/*  bench_sched.h - the open loop's schedule: when each signal is due, and
    from which end of which pair

    Signal k is due at t0 + k / rate, from pair k % pairs; the caller and
    the callee take turns, a round of pairs each. Due times come from the
    count, never from the previous send, so a bench that fell behind
    catches up and a late send is charged from its schedule (no
    coordinated omission).
*/
#ifndef BENCH_SCHED_H_INCLUDED
#define BENCH_SCHED_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t t0;                //  ns: when signal 0 is due
    double rate;                //  signals per second
    int pairs;
    uint64_t next;              //  the next signal's number
    bool running;
} bench_sched_t;

void
    bench_sched_start (bench_sched_t *self, uint64_t t0, double rate,
                       int pairs);
//  When the next signal is due (ns); UINT64_MAX when not running
uint64_t
    bench_sched_due (const bench_sched_t *self);
//  Takes the next signal: its pair and end; returns when it was due
uint64_t
    bench_sched_take (bench_sched_t *self, int *pair, bool *caller);
void
    bench_sched_test (bool verbose);

#endif
