/*  homecall_bench.c - a load generator for HomeCall (and for PeerJS, and
    for the bare relay of tests/bench), with its own WebSocket client on
    epoll (bench/bench_net.c)

    homecall-bench [--mode closed|open|idle] [--dialect signal|p2p|peerjs]
                   [--url ws://HOST:PORT[/PATH]] [--pid PID] ...

    Prints one JSON line (stdout) and one human line (stderr) with the
    figures; docs/performance.md says what they mean. --help lists every
    option.
*/
#include "bench/bench_report.h"
#include "bench/bench_run.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"usage: homecall-bench [options]\n"
"\n"
"Drives a signaling server over WebSocket from one thread and prints its\n"
"figures: one JSON line on stdout, one human line on stderr.\n"
"\n"
"Modes (--mode):\n"
"  closed  PAIRS pairs; each caller sends an offer, its partner answers,\n"
"          the caller sends the next one on the answer. Round trips/s and\n"
"          the round trip time (RTT) p50/p99/p99.9. (default)\n"
"  open    RATE signals/s offered in all, spread over the pairs, callers\n"
"          and callees by turns, whatever the server does; latency from\n"
"          each signal's scheduled send time to its arrival (no\n"
"          coordinated omission), how late the bench itself sent, and\n"
"          the latency from the actual send.\n"
"  idle    IDLE connections that join (p2p: ADD_USER; peerjs: register)\n"
"          and stay, answering pings, for the duration: connect+join\n"
"          rate, drops (closes the server made), server RSS per\n"
"          connection and CPU per connection per ping round.\n"
"\n"
"Options:\n"
"  --mode MODE             closed, open or idle (default closed)\n"
"  --dialect D             signal (join a room, offer/answer), p2p\n"
"                          (ADD_USER, OFFER/ANSWER then UPDATE_OFFER/\n"
"                          UPDATE_ANSWER), peerjs (the PeerJS server:\n"
"                          OFFER/ANSWER to a dst id) (default signal)\n"
"  --url URL               ws://HOST:PORT[/PATH]; the path defaults to the\n"
"                          dialect's: /signal, /, /peerjs (default\n"
"                          ws://127.0.0.1:5555)\n"
"  --pairs N               active pairs, closed and open (default 100)\n"
"  --payload BYTES         SDP text per signal (default 1500)\n"
"  --duration SECONDS      measured window (default 10)\n"
"  --warmup SECONDS        traffic before it, not counted (default 1)\n"
"  --rate N                open: signals per second offered (default 10000)\n"
"  --idle N                idle connections: in idle mode the count\n"
"                          (default 1000), in the others held beside the\n"
"                          pairs, connected first (default 0)\n"
"  --concurrency N         handshakes in flight at once (default 256)\n"
"  --connect-timeout S     connections not ready (joined) this long after\n"
"                          the first handshake count as failed, and the run\n"
"                          goes on with the rest (default 300)\n"
"  --pid PID               the server's process: its CPU (utime+stime of\n"
"                          /proc/PID/stat, and per thread, by name, from\n"
"                          /proc/PID/task/*/stat) in the window, per\n"
"                          relayed message, and its RSS\n"
"  --ping-interval SECONDS idle: the server's ping interval, for CPU per\n"
"                          connection per ping round (default: not shown)\n"
"  --keepalive SECONDS     p2p PING and peerjs HEARTBEAT period on every\n"
"                          connection (default 20; /signal relies on\n"
"                          WebSocket pings)\n"
"  --tag TEXT              prefix of every room and user id (default\n"
"                          hcbPID, so that two benches never meet)\n"
"  --peerjs-key KEY        the PeerJS server's key (default peerjs)\n"
"  --help                  this text\n"
"\n"
"Against HomeCall, start the server without the per-connection rate limit\n"
"and the per-address cap (every bench connection comes from one address):\n"
"  homecall --rate-limit 0 --max-connections-per-ip 0 "
"--max-connections 20000\n"
"The bench raises its own open-file limit to the hard limit; 19,000\n"
"connections need a hard limit above that (ulimit -Hn).\n"
"\n"
"Output: \"relayed\" counts offers and answers that reached the other end\n"
"in the window; cpu_us_per_msg is the server's CPU time over that count;\n"
"bench_cpu_us_per_msg is the bench's own (near the server's means the\n"
"bench may be the bottleneck). Exit code 0, or 1 when no connection came\n"
"up, 2 for bad options.\n");
}

static int
s_number (const char *text, double min, double *value)
{
    char *end;
    errno = 0;
    double number = strtod (text, &end);
    if (errno || end == text || *end || number < min)
        return -1;
    *value = number;
    return 0;
}

static int
s_url (const char *url, bench_opts_t *opts, bool *path_given)
{
    const char *prefix = "ws://";
    if (strncmp (url, prefix, strlen (prefix)))
        return -1;
    const char *host = url + strlen (prefix);
    const char *slash = strchr (host, '/');
    const char *colon = strchr (host, ':');
    if (colon && slash && colon > slash)
        colon = NULL;
    size_t host_n = colon ? (size_t) (colon - host)
                  : slash ? (size_t) (slash - host) : strlen (host);
    if (host_n == 0 || host_n >= sizeof (opts->host))
        return -1;
    memcpy (opts->host, host, host_n);
    opts->host [host_n] = 0;
    opts->port = 80;
    if (colon) {
        double port;
        char digits [8];
        size_t digits_n = slash ? (size_t) (slash - colon - 1)
                                : strlen (colon + 1);
        if (digits_n == 0 || digits_n >= sizeof (digits))
            return -1;
        memcpy (digits, colon + 1, digits_n);
        digits [digits_n] = 0;
        if (s_number (digits, 1, &port) || port > 65535)
            return -1;
        opts->port = (int) port;
    }
    *path_given = slash && strlen (slash) < sizeof (opts->path);
    if (*path_given)
        snprintf (opts->path, sizeof (opts->path), "%s", slash);
    return 0;
}

//  Every bench connection is a descriptor: take the hard limit
static void
s_raise_files (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0
    &&  limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
}

static int
s_parse (int argc, char *argv [], bench_opts_t *opts)
{
    static const struct option options [] = {
        {"mode", required_argument, NULL, 'm'},
        {"dialect", required_argument, NULL, 'd'},
        {"url", required_argument, NULL, 'u'},
        {"pairs", required_argument, NULL, 'p'},
        {"payload", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 't'},
        {"warmup", required_argument, NULL, 'w'},
        {"rate", required_argument, NULL, 'r'},
        {"idle", required_argument, NULL, 'i'},
        {"concurrency", required_argument, NULL, 'c'},
        {"connect-timeout", required_argument, NULL, 'C'},
        {"pid", required_argument, NULL, 'P'},
        {"ping-interval", required_argument, NULL, 'I'},
        {"keepalive", required_argument, NULL, 'k'},
        {"tag", required_argument, NULL, 'T'},
        {"peerjs-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    memset (opts, 0, sizeof (*opts));
    opts->mode = BENCH_CLOSED;
    opts->dialect = BENCH_SIGNAL;
    snprintf (opts->host, sizeof (opts->host), "127.0.0.1");
    opts->port = 5555;
    snprintf (opts->key, sizeof (opts->key), "peerjs");
    snprintf (opts->tag, sizeof (opts->tag), "hcb%d", (int) getpid ());
    opts->pairs = 100;
    opts->idle = -1;
    opts->payload = 1500;
    opts->duration = 10;
    opts->warmup = 1;
    opts->rate = 10000;
    opts->concurrency = 256;
    opts->connect_timeout = 300;
    opts->keepalive = 20;
    bool path_given = false;
    int option;
    double value;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1) {
        bool bad = false;
        switch (option) {
            case 'm':
                opts->mode = strcmp (optarg, "closed") == 0 ? BENCH_CLOSED
                           : strcmp (optarg, "open") == 0 ? BENCH_OPEN
                           : BENCH_IDLE;
                bad = strcmp (optarg, "idle") && opts->mode == BENCH_IDLE;
                break;
            case 'd':
                bad = bench_wire_dialect (optarg, &opts->dialect) != 0;
                break;
            case 'u':
                bad = s_url (optarg, opts, &path_given) != 0;
                break;
            case 'p':
                bad = s_number (optarg, 1, &value) || value > 9000;
                opts->pairs = (int) value;
                break;
            case 's':
                bad = s_number (optarg, 0, &value) || value > 1048576;
                opts->payload = (size_t) value;
                break;
            case 't':
                bad = s_number (optarg, 0.1, &opts->duration);
                break;
            case 'w':
                bad = s_number (optarg, 0, &opts->warmup);
                break;
            case 'r':
                bad = s_number (optarg, 1, &opts->rate);
                break;
            case 'i':
                bad = s_number (optarg, 0, &value) || value > 1000000;
                opts->idle = (int) value;
                break;
            case 'c':
                bad = s_number (optarg, 1, &value);
                opts->concurrency = (int) value;
                break;
            case 'C':
                bad = s_number (optarg, 1, &opts->connect_timeout);
                break;
            case 'P':
                bad = s_number (optarg, 1, &value);
                opts->pid = (pid_t) value;
                break;
            case 'I':
                bad = s_number (optarg, 0, &opts->ping_interval);
                break;
            case 'k':
                bad = s_number (optarg, 0, &opts->keepalive);
                break;
            case 'T':
                bad = !*optarg || strlen (optarg) >= sizeof (opts->tag);
                snprintf (opts->tag, sizeof (opts->tag), "%s", optarg);
                break;
            case 'K':
                bad = strlen (optarg) >= sizeof (opts->key);
                snprintf (opts->key, sizeof (opts->key), "%s", optarg);
                break;
            case 'h':
                s_usage (stdout);
                exit (0);
            default:
                bad = true;
        }
        if (bad) {
            if (option != '?')
                fprintf (stderr, "homecall-bench: bad value '%s'\n", optarg);
            fprintf (stderr, "homecall-bench --help lists the options\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "homecall-bench: unexpected '%s'\n", argv [optind]);
        return -1;
    }
    if (opts->idle < 0)
        opts->idle = opts->mode == BENCH_IDLE ? 1000 : 0;
    if (!path_given)
        snprintf (opts->path, sizeof (opts->path), "%s",
                  bench_wire_default_path (opts->dialect));
    return 0;
}

int
main (int argc, char *argv [])
{
    bench_opts_t opts;
    if (s_parse (argc, argv, &opts))
        return 2;
    signal (SIGPIPE, SIG_IGN);
    s_raise_files ();
    bench_result_t result;
    if (bench_run (&opts, &result))
        return 1;
    bench_report_json (&opts, &result, stdout);
    fflush (stdout);
    bench_report_human (&opts, &result, stderr);
    return 0;
}
