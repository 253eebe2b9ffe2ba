/*  bench_lat.h - latency samples of one run and their percentiles */
#ifndef BENCH_LAT_H_INCLUDED
#define BENCH_LAT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_lat_t bench_lat_t;

//  Percentiles of a run, in microseconds
typedef struct {
    uint64_t count;
    double p50, p99, p999, max, mean;
} bench_lat_summary_t;

bench_lat_t *
    bench_lat_new (void);
void
    bench_lat_destroy (bench_lat_t **self_p);
//  Records one sample in nanoseconds (negative ones count as 0)
void
    bench_lat_add (bench_lat_t *self, int64_t ns);
//  Forgets every sample (the end of a warm-up)
void
    bench_lat_reset (bench_lat_t *self);
//  Sorts the samples; the summary of an empty run is all zeros
bench_lat_summary_t
    bench_lat_summary (bench_lat_t *self);
void
    bench_lat_test (bool verbose);

#endif
