/*  bench_lat.c - latency samples of one run and their percentiles

    Every sample is kept (4 bytes each: a 10 s run at 100,000 samples/s is
    4 MB), so percentiles are exact rather than bucketed.
*/
#include "bench_lat.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_lat_t {
    uint32_t *ns;               //  samples, clamped to 4.29 s
    size_t size;                //  samples held
    size_t room;                //  samples allocated
    double sum;                 //  of the samples, for the mean
};

bench_lat_t *
bench_lat_new (void)
{
    return (bench_lat_t *) calloc (1, sizeof (bench_lat_t));
}

void
bench_lat_destroy (bench_lat_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->ns);
        free (*self_p);
        *self_p = NULL;
    }
}

void
bench_lat_add (bench_lat_t *self, int64_t ns)
{
    if (self->size == self->room) {
        size_t room = self->room ? self->room * 2 : 65536;
        uint32_t *grown = (uint32_t *) realloc (self->ns,
                                                room * sizeof (uint32_t));
        if (!grown)
            return;             //  out of memory: the sample is lost
        self->ns = grown;
        self->room = room;
    }
    uint32_t value = ns < 0 ? 0 : ns > UINT32_MAX ? UINT32_MAX : (uint32_t) ns;
    self->ns [self->size++] = value;
    self->sum += value;
}

void
bench_lat_reset (bench_lat_t *self)
{
    self->size = 0;
    self->sum = 0;
}

static int
s_compare (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

//  The nearest-rank percentile of sorted samples
static double
s_rank (const bench_lat_t *self, double fraction)
{
    size_t rank = (size_t) (fraction * (double) self->size + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > self->size)
        rank = self->size;
    return self->ns [rank - 1] / 1000.0;
}

bench_lat_summary_t
bench_lat_summary (bench_lat_t *self)
{
    bench_lat_summary_t summary;
    memset (&summary, 0, sizeof (summary));
    if (self->size == 0)
        return summary;
    qsort (self->ns, self->size, sizeof (uint32_t), s_compare);
    summary.count = self->size;
    summary.p50 = s_rank (self, 0.50);
    summary.p99 = s_rank (self, 0.99);
    summary.p999 = s_rank (self, 0.999);
    summary.max = self->ns [self->size - 1] / 1000.0;
    summary.mean = self->sum / (double) self->size / 1000.0;
    return summary;
}

void
bench_lat_test (bool verbose)
{
    if (verbose)
        printf (" * bench_lat: ");
    bench_lat_t *lat = bench_lat_new ();
    assert (lat);
    assert (bench_lat_summary (lat).count == 0);
    //  1..1000 us, shuffled: ranks land on whole microseconds
    for (int i = 0; i < 1000; i++)
        bench_lat_add (lat, (int64_t) ((i * 7919) % 1000 + 1) * 1000);
    bench_lat_summary_t s = bench_lat_summary (lat);
    assert (s.count == 1000);
    assert (s.p50 == 500 && s.p99 == 990 && s.p999 == 999 && s.max == 1000);
    assert (s.mean > 500.4 && s.mean < 500.6);
    bench_lat_add (lat, -5);                    //  clamped, not wrapped
    bench_lat_add (lat, (int64_t) 1 << 40);
    s = bench_lat_summary (lat);
    assert (s.count == 1002 && s.max == UINT32_MAX / 1000.0);
    bench_lat_reset (lat);
    assert (bench_lat_summary (lat).count == 0);
    //  Growing past the first allocation keeps every sample
    for (int i = 0; i < 70000; i++)
        bench_lat_add (lat, 2000);
    s = bench_lat_summary (lat);
    assert (s.count == 70000 && s.p50 == 2 && s.max == 2);
    bench_lat_destroy (&lat);
    bench_lat_destroy (&lat);
    assert (lat == NULL);
    if (verbose)
        printf ("OK\n");
}
