/*  bench_report.c - homecall-bench's figures: a JSON line, a human line

    "Relayed" counts signals (offers and answers) that reached the other
    end in the measured window; server CPU per relayed message is the
    server's CPU time in that window over that count.
*/
#include "bench_report.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const char *s_modes [] = {"closed", "open", "idle"};

static double
s_per (double value, double count)
{
    return count > 0 ? value / count : 0;
}

//  Server CPU in microseconds per relayed message
static double
s_us_per_msg (double seconds, const bench_result_t *result)
{
    return s_per (seconds * 1e6, (double) result->relayed);
}

//  Server CPU in microseconds per connection per ping round (idle)
static double
s_us_per_ping (const bench_opts_t *opts, const bench_result_t *result)
{
    double rounds = s_per (result->measured_s, opts->ping_interval);
    return s_per ((result->cpu.user + result->cpu.sys) * 1e6,
                  rounds * result->connected);
}

static double
s_rss_per_conn (const bench_result_t *result)
{
    if (result->rss_ready < result->rss_before)
        return 0;
    return s_per ((double) (result->rss_ready - result->rss_before),
                  result->connected);
}

static void
s_latency_json (FILE *out, const char *name, const bench_lat_summary_t *lat)
{
    fprintf (out, ",\"%s\":{\"count\":%llu,\"p50\":%.1f,\"p99\":%.1f,"
             "\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}", name,
             (unsigned long long) lat->count, lat->p50, lat->p99, lat->p999,
             lat->max, lat->mean);
}

void
bench_report_json (const bench_opts_t *opts, const bench_result_t *result,
                   FILE *out)
{
    double window = result->measured_s;
    fprintf (out, "{\"bench\":\"homecall-bench\",\"mode\":\"%s\","
             "\"dialect\":\"%s\",\"target\":\"ws://%s:%d%s\",\"pairs\":%d,"
             "\"idle\":%d,\"payload\":%zu,\"duration_s\":%.3f,",
             s_modes [opts->mode], bench_wire_dialect_name (opts->dialect),
             opts->host, opts->port, opts->path,
             opts->mode == BENCH_IDLE ? 0 : opts->pairs, opts->idle,
             opts->payload, window);
    fprintf (out, "\"connected\":%d,\"connect_failures\":%d,\"connect_s\":"
             "%.3f,\"connect_per_s\":%.1f,\"drops\":%llu,\"errors\":%llu,",
             result->connected, result->connect_failures, result->connect_s,
             s_per (result->connected, result->connect_s),
             (unsigned long long) result->drops,
             (unsigned long long) result->errors);
    fprintf (out, "\"round_trips\":%llu,\"round_trips_per_s\":%.1f,"
             "\"offered\":%llu,\"offered_per_s\":%.1f,\"relayed\":%llu,"
             "\"relayed_per_s\":%.1f",
             (unsigned long long) result->round_trips,
             s_per ((double) result->round_trips, window),
             (unsigned long long) result->offered,
             s_per ((double) result->offered, window),
             (unsigned long long) result->relayed,
             s_per ((double) result->relayed, window));
    if (opts->mode != BENCH_IDLE)
        s_latency_json (out, opts->mode == BENCH_CLOSED ? "rtt_us"
                                                         : "latency_us",
                        &result->latency);
    if (opts->mode == BENCH_OPEN) {
        s_latency_json (out, "send_late_us", &result->late);
        s_latency_json (out, "relay_us", &result->relay);
    }
    fprintf (out, ",\"load\":{\"begin\":%.2f,\"end\":%.2f}",
             result->load_begin, result->load_end);
    fprintf (out, ",\"bench_cpu_s\":%.3f,\"bench_cpu_us_per_msg\":%.2f,"
             "\"bench_cpu_share\":%.3f", result->self_cpu_s,
             s_us_per_msg (result->self_cpu_s, result),
             s_per (result->self_cpu_s, window));
    if (result->server) {
        const bench_proc_sample_t *cpu = &result->cpu;
        fprintf (out, ",\"server\":{\"pid\":%d,\"cpu_s\":%.3f,\"user_s\":%.3f,"
                 "\"sys_s\":%.3f,\"cpu_share\":%.3f,\"cpu_us_per_msg\":%.2f,"
                 "\"rss_bytes\":%llu,\"rss_before\":%llu,\"rss_ready\":%llu,"
                 "\"rss_per_conn\":%.0f", (int) opts->pid,
                 cpu->user + cpu->sys, cpu->user, cpu->sys,
                 s_per (cpu->user + cpu->sys, window),
                 s_us_per_msg (cpu->user + cpu->sys, result),
                 (unsigned long long) cpu->rss_bytes,
                 (unsigned long long) result->rss_before,
                 (unsigned long long) result->rss_ready,
                 s_rss_per_conn (result));
        if (opts->mode == BENCH_IDLE && opts->ping_interval > 0)
            fprintf (out, ",\"cpu_us_per_conn_per_ping\":%.2f",
                     s_us_per_ping (opts, result));
        fprintf (out, ",\"threads\":[");
        for (size_t i = 0; i < cpu->threads_n; i++) {
            const bench_proc_thread_t *thread = &cpu->threads [i];
            fprintf (out, "%s{\"name\":\"", i ? "," : "");
            for (const char *c = thread->name; *c; c++)
                fputc (*c == '"' || *c == '\\' || (unsigned char) *c < 32
                       ? '_' : *c, out);
            fprintf (out, "\",\"user_s\":%.3f,\"sys_s\":%.3f,"
                     "\"cpu_us_per_msg\":%.2f}", thread->user, thread->sys,
                     s_us_per_msg (thread->user + thread->sys, result));
        }
        fprintf (out, "]}");
    }
    fprintf (out, "}\n");
}

static void
s_server_human (const bench_opts_t *opts, const bench_result_t *result,
                FILE *out)
{
    const bench_proc_sample_t *cpu = &result->cpu;
    double total = cpu->user + cpu->sys;
    if (opts->mode == BENCH_IDLE) {
        fprintf (out, "; server %.2f KiB RSS per connection",
                 s_rss_per_conn (result) / 1024);
        if (opts->ping_interval > 0)
            fprintf (out, ", %.2f us CPU per connection per ping round",
                     s_us_per_ping (opts, result));
        fprintf (out, " (%.1f%% of a core)",
                 s_per (total * 100, result->measured_s));
        return;
    }
    fprintf (out, "; server %.2f us CPU per relayed msg, %.0f%% of a core (",
             s_us_per_msg (total, result),
             s_per (total * 100, result->measured_s));
    bool any = false;
    for (size_t i = 0; i < cpu->threads_n; i++) {
        const bench_proc_thread_t *thread = &cpu->threads [i];
        double us = s_us_per_msg (thread->user + thread->sys, result);
        if (us < 0.05)
            continue;
        fprintf (out, "%s%s %.2f, %.2f sys", any ? "; " : "", thread->name,
                 us, s_us_per_msg (thread->sys, result));
        any = true;
    }
    fprintf (out, "), %.1f MiB RSS", (double) cpu->rss_bytes / 1048576);
}

void
bench_report_human (const bench_opts_t *opts, const bench_result_t *result,
                    FILE *out)
{
    double window = result->measured_s;
    fprintf (out, "homecall-bench %s %s: ", s_modes [opts->mode],
             bench_wire_dialect_name (opts->dialect));
    if (opts->mode == BENCH_IDLE)
        fprintf (out, "%d connections, %.0f connect+join/s, held %.0f s, "
                 "%llu drops", result->connected,
                 s_per (result->connected, result->connect_s), window,
                 (unsigned long long) result->drops);
    else {
        fprintf (out, "%d pairs, %zu B", opts->pairs, opts->payload);
        if (opts->idle)
            fprintf (out, ", %d idle", opts->idle);
        if (opts->mode == BENCH_CLOSED)
            fprintf (out, ", %.0f round trips/s, RTT", s_per (
                     (double) result->round_trips, window));
        else
            fprintf (out, ", %.0f/s offered, %.0f/s relayed, latency from "
                     "schedule", s_per ((double) result->offered, window),
                     s_per ((double) result->relayed, window));
        fprintf (out, " p50 %.0f us p99 %.0f us p99.9 %.0f us",
                 result->latency.p50, result->latency.p99,
                 result->latency.p999);
        if (opts->mode == BENCH_OPEN)
            fprintf (out, " (the bench sent late by p50 %.0f us p99 %.0f us; "
                     "from the actual send p50 %.0f us p99 %.0f us)",
                     result->late.p50, result->late.p99, result->relay.p50,
                     result->relay.p99);
    }
    if (result->connect_failures || result->errors)
        fprintf (out, ", %d failed connects, %llu errors",
                 result->connect_failures,
                 (unsigned long long) result->errors);
    if (result->server)
        s_server_human (opts, result, out);
    if (opts->mode != BENCH_IDLE)
        fprintf (out, "; bench %.2f us CPU per msg, %.0f%% of a core",
                 s_us_per_msg (result->self_cpu_s, result),
                 s_per (result->self_cpu_s * 100, window));
    fprintf (out, "; load %.2f to %.2f\n", result->load_begin,
             result->load_end);
}

void
bench_report_test (bool verbose)
{
    if (verbose)
        printf (" * bench_report: ");
    bench_opts_t opts;
    memset (&opts, 0, sizeof (opts));
    snprintf (opts.host, sizeof (opts.host), "127.0.0.1");
    snprintf (opts.path, sizeof (opts.path), "/signal");
    opts.port = 5555;
    opts.pairs = 2;
    opts.payload = 1500;
    bench_result_t result;
    memset (&result, 0, sizeof (result));
    result.measured_s = 2;
    result.relayed = 1000;
    result.round_trips = 500;
    result.connected = 4;
    result.connect_s = 0.5;
    result.server = true;
    result.cpu.user = 0.004;
    result.cpu.sys = 0.006;
    result.cpu.threads_n = 1;
    snprintf (result.cpu.threads [0].name, 16, "hc-gateway");
    result.cpu.threads [0].sys = 0.006;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    bench_report_json (&opts, &result, out);
    fflush (out);
    assert (strstr (text, "{\"bench\":\"homecall-bench\",\"mode\":\"closed\""));
    assert (strstr (text, "\"round_trips_per_s\":250.0"));
    assert (strstr (text, "\"cpu_us_per_msg\":10.00"));
    assert (strstr (text, "{\"name\":\"hc-gateway\",\"user_s\":0.000,"
                          "\"sys_s\":0.006,\"cpu_us_per_msg\":6.00}"));
    assert (strchr (text, '\n') == text + size - 1);    //  one line
    rewind (out);
    bench_report_human (&opts, &result, out);
    fflush (out);
    assert (strstr (text, "250 round trips/s"));
    assert (strstr (text, "server 10.00 us CPU per relayed msg, 0% of a core "
                          "(hc-gateway 6.00, 6.00 sys)"));
    fclose (out);
    free (text);
    if (verbose)
        printf ("OK\n");
}
