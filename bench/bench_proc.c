/*  bench_proc.c - a server's CPU time (per thread) and memory from /proc

    utime and stime are in clock ticks (10 ms here): over a run of a few
    seconds at tens of percent of a core that is well under 1% error.
*/
#include "bench_proc.h"

#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Reads "pid (comm) state ... utime stime" from a stat file; comm may
//  hold spaces and parentheses, so it ends at the last ')'
static int
s_read_stat (const char *path, char name [16], double *user, double *sys)
{
    char text [1024];
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    size_t size = fread (text, 1, sizeof (text) - 1, file);
    fclose (file);
    text [size] = 0;
    char *open = strchr (text, '(');
    char *close = strrchr (text, ')');
    if (!open || !close || close < open)
        return -1;
    size_t length = (size_t) (close - open - 1);
    if (length > 15)
        length = 15;
    if (name) {
        memcpy (name, open + 1, length);
        name [length] = 0;
    }
    //  After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
    //  cminflt majflt cmajflt utime(14) stime(15)
    unsigned long long utime, stime;
    if (sscanf (close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                "%llu %llu", &utime, &stime) != 2)
        return -1;
    double tick = (double) sysconf (_SC_CLK_TCK);
    *user = (double) utime / tick;
    *sys = (double) stime / tick;
    return 0;
}

static bench_proc_thread_t *
s_thread_named (bench_proc_sample_t *sample, const char *name)
{
    for (size_t i = 0; i < sample->threads_n; i++)
        if (strcmp (sample->threads [i].name, name) == 0)
            return &sample->threads [i];
    if (sample->threads_n == BENCH_PROC_THREADS)
        return &sample->threads [BENCH_PROC_THREADS - 1];
    bench_proc_thread_t *thread = &sample->threads [sample->threads_n++];
    memset (thread, 0, sizeof (*thread));
    snprintf (thread->name, sizeof (thread->name), "%s", name);
    return thread;
}

int
bench_proc_sample (pid_t pid, bench_proc_sample_t *sample)
{
    memset (sample, 0, sizeof (*sample));
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    if (s_read_stat (path, NULL, &sample->user, &sample->sys))
        return -1;
    snprintf (path, sizeof (path), "/proc/%d/statm", (int) pid);
    FILE *file = fopen (path, "r");
    unsigned long long pages_size, pages_resident;
    if (file) {
        if (fscanf (file, "%llu %llu", &pages_size, &pages_resident) == 2)
            sample->rss_bytes = pages_resident
                              * (uint64_t) sysconf (_SC_PAGESIZE);
        fclose (file);
    }
    snprintf (path, sizeof (path), "/proc/%d/task", (int) pid);
    DIR *dir = opendir (path);
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char task [300];
        snprintf (task, sizeof (task), "/proc/%d/task/%s/stat", (int) pid,
                  entry->d_name);
        char name [16];
        double user, sys;
        if (s_read_stat (task, name, &user, &sys))
            continue;           //  the thread ended meanwhile
        bench_proc_thread_t *thread = s_thread_named (sample, name);
        thread->user += user;
        thread->sys += sys;
    }
    closedir (dir);
    return 0;
}

void
bench_proc_delta (const bench_proc_sample_t *before,
                  const bench_proc_sample_t *after,
                  bench_proc_sample_t *delta)
{
    *delta = *after;
    delta->user -= before->user;
    delta->sys -= before->sys;
    for (size_t i = 0; i < delta->threads_n; i++)
        for (size_t j = 0; j < before->threads_n; j++)
            if (strcmp (delta->threads [i].name,
                        before->threads [j].name) == 0) {
                delta->threads [i].user -= before->threads [j].user;
                delta->threads [i].sys -= before->threads [j].sys;
            }
}

double
bench_proc_loadavg (void)
{
    double load = -1;
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file) {
        if (fscanf (file, "%lf", &load) != 1)
            load = -1;
        fclose (file);
    }
    return load;
}

void
bench_proc_test (bool verbose)
{
    if (verbose)
        printf (" * bench_proc: ");
    bench_proc_sample_t before, after, delta;
    assert (bench_proc_sample (getpid (), &before) == 0);
    assert (before.rss_bytes > 0 && before.threads_n >= 1);
    //  Burn some CPU: the main thread's time grows, memory stays known
    volatile uint64_t spin = 0;
    for (uint64_t i = 0; i < 100000000; i++)
        spin += i;
    assert (bench_proc_sample (getpid (), &after) == 0);
    bench_proc_delta (&before, &after, &delta);
    assert (delta.user + delta.sys > 0);
    double threads = 0;
    for (size_t i = 0; i < delta.threads_n; i++)
        threads += delta.threads [i].user + delta.threads [i].sys;
    assert (threads > 0);
    //  A process that is not there
    assert (bench_proc_sample (0, &after) == -1);
    assert (bench_proc_loadavg () >= 0);
    if (verbose)
        printf ("OK\n");
}
