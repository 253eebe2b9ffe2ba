/*  bench_sched.c - the open loop's schedule */
#include "bench_sched.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void
bench_sched_start (bench_sched_t *self, uint64_t t0, double rate, int pairs)
{
    memset (self, 0, sizeof (*self));
    self->t0 = t0;
    self->rate = rate;
    self->pairs = pairs > 0 ? pairs : 1;
    self->running = true;
}

uint64_t
bench_sched_due (const bench_sched_t *self)
{
    if (!self->running)
        return UINT64_MAX;
    return self->t0 + (uint64_t) ((double) self->next * 1e9 / self->rate);
}

uint64_t
bench_sched_take (bench_sched_t *self, int *pair, bool *caller)
{
    uint64_t due = bench_sched_due (self);
    uint64_t k = self->next++;
    *pair = (int) (k % (uint64_t) self->pairs);
    *caller = (k / (uint64_t) self->pairs) % 2 == 0;
    return due;
}

void
bench_sched_test (bool verbose)
{
    if (verbose)
        printf (" * bench_sched: ");
    bench_sched_t sched;
    memset (&sched, 0, sizeof (sched));
    assert (bench_sched_due (&sched) == UINT64_MAX);
    bench_sched_start (&sched, 1000, 10000, 3);
    int pair;
    bool caller;
    //  100 us apart; pairs 0, 1, 2 call, then 0, 1, 2 answer
    for (int k = 0; k < 12; k++) {
        assert (bench_sched_due (&sched) == 1000 + (uint64_t) k * 100000);
        assert (bench_sched_take (&sched, &pair, &caller)
                == 1000 + (uint64_t) k * 100000);
        assert (pair == k % 3 && caller == ((k / 3) % 2 == 0));
    }
    //  Far into a run the due time still comes from the count
    sched.next = 36000000;                     //  an hour at 10,000/s
    assert (bench_sched_due (&sched) == 1000 + 3600000000000ull);
    if (verbose)
        printf ("OK\n");
}
