/*  bench_proc.h - a server's CPU time (per thread) and memory from /proc */
#ifndef BENCH_PROC_H_INCLUDED
#define BENCH_PROC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_PROC_THREADS 64   //  threads told apart; more are summed in

//  CPU time of one thread (or of every thread of one name), in seconds
typedef struct {
    char name [16];             //  the thread's comm (pthread_setname_np)
    double user, sys;
} bench_proc_thread_t;

typedef struct {
    double user, sys;           //  the whole process
    uint64_t rss_bytes;         //  resident memory
    size_t threads_n;
    bench_proc_thread_t threads [BENCH_PROC_THREADS];
} bench_proc_sample_t;

//  Reads /proc/PID/stat, /proc/PID/statm and /proc/PID/task/*/stat.
//  Threads of the same name are summed into one entry (an idle lws
//  service thread and a busy one are told apart only by name).
//  Returns 0, or -1 if the process is gone.
int
    bench_proc_sample (pid_t pid, bench_proc_sample_t *sample);
//  after - before, thread by thread (matched by name; a thread that came
//  or went counts from zero)
void
    bench_proc_delta (const bench_proc_sample_t *before,
                      const bench_proc_sample_t *after,
                      bench_proc_sample_t *delta);
//  The machine's 1-minute load average (/proc/loadavg), or -1
double
    bench_proc_loadavg (void);
void
    bench_proc_test (bool verbose);

#endif
