/*  bench_report.h - homecall-bench's figures: a JSON line, a human line */
#ifndef BENCH_REPORT_H_INCLUDED
#define BENCH_REPORT_H_INCLUDED

#include "bench_run.h"

#include <stdio.h>

//  Writes one JSON object on one line
void
    bench_report_json (const bench_opts_t *opts, const bench_result_t *result,
                       FILE *out);
//  Writes one line for people
void
    bench_report_human (const bench_opts_t *opts,
                        const bench_result_t *result, FILE *out);
void
    bench_report_test (bool verbose);

#endif
