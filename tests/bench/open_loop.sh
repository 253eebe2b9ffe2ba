#!/bin/bash
# open_loop.sh - relay latency at a fixed offered rate: homecall at its
# defaults and the bare relay, measured by the same homecall-bench open
# loop in one run, in interleaved rounds
#
#   tests/bench/open_loop.sh [--rounds N] [--rate N] [--duration S]
#                            [--pairs N] [--chrt PRIO] [--build DIR]
#                            [--out DIR] [--smoke]
#
# Each round starts homecall (defaults: LOG_LEVEL=info, a log line per
# relay) and then the bare relay on 127.0.0.1 and a free port, runs
# homecall-bench --mode open at --rate signals/s (10000) over --pairs
# pairs (100) for --duration seconds (10), and stops the server by its
# pid. Latency is from each signal's scheduled send time; the table also
# shows how late the bench itself sent (send_late), the latency from the
# actual send (relay), the server's and the bench's CPU in percent of a
# core and the load average, so a run where the machine, not the server,
# was late shows as such. Medians over the rounds. --chrt PRIO runs the
# server and the bench with SCHED_FIFO at PRIO (chrt -f; root), so that
# other work on a shared machine does not stand between them and a core.
# Every bench's JSON line is kept in --out (default: a temporary
# directory). --smoke: 1 round of 1 s at 200/s, 5 pairs (the ctest
# bench_smoke runs it). docs/performance.md shows the table.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5
rate=10000
duration=10
pairs=100
chrt=""
build="$top/build"
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        --chrt) chrt=$2; shift 2 ;;
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --smoke) rounds=1 rate=200 duration=1 pairs=5; shift ;;
        *) sed -n '2,24p' "$0" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || out=$(mktemp -d /tmp/homecall-open.XXXXXX)
mkdir -p "$out"
for program in homecall homecall-bench bare_relay; do
    [ -x "$build/$program" ] || { echo "open_loop: no $build/$program (build first)" >&2; exit 2; }
done
. "$top/tests/bench/servers.sh"
[ -z "$chrt" ] || run=(chrt -f "$chrt")
peerjs=""

results="$out/results.jsonl"
: >"$results"
started=$(date +%s)
for round in $(seq "$rounds"); do
    for name in homecall bare; do
        port=$(free_port)
        start_server "$name" "$port"
        line=$("${run[@]}" "$build/homecall-bench" --mode open --rate "$rate" \
               --pairs "$pairs" --duration "$duration" \
               --url "ws://127.0.0.1:$port" --pid "$server_pid" \
               --connect-timeout 60 2>>"$out/bench.err") || line=""
        stop_server
        if [ -z "$line" ]; then
            echo "open_loop: round $round, $name: no figures" >&2
            continue
        fi
        printf '{"round":%s,"server":"%s","result":%s}\n' "$round" "$name" \
            "$line" >>"$results"
        echo "open_loop: round $round, $name: done" >&2
    done
done
elapsed=$(( $(date +%s) - started ))

/usr/bin/python3 - "$results" "$rounds" "$rate" "$duration" "$pairs" \
    "$elapsed" "${chrt:-}" <<'EOF'
import json, statistics, sys
path, rounds, rate, duration, pairs, elapsed, chrt = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
names = {"homecall": "homecall, defaults (LOG_LEVEL=info)",
         "bare": "bare lws-on-libev relay"}
med = lambda values: statistics.median(values) if values else float("nan")
print("| server | latency p50 / p99 / p99.9 | bench sent late p99 | from the "
      "send p99 | relayed / offered | server CPU | bench CPU | load |")
print("|---|---|---|---|---|---|---|---|")
missing = []
for name, label in names.items():
    rs = [r["result"] for r in rows if r["server"] == name]
    if not rs:
        missing.append(name)
        continue
    get = lambda f: med([f(r) for r in rs])
    print("| %s | %.0f / %.0f / %.0f us | %.0f us | %.0f us | %.0f / %.0f/s "
          "| %.0f%% | %.0f%% | %.1f |" % (
              label, get(lambda r: r["latency_us"]["p50"]),
              get(lambda r: r["latency_us"]["p99"]),
              get(lambda r: r["latency_us"]["p999"]),
              get(lambda r: r["send_late_us"]["p99"]),
              get(lambda r: r["relay_us"]["p99"]),
              get(lambda r: r["relayed_per_s"]),
              get(lambda r: r["offered_per_s"]),
              get(lambda r: r.get("server", {}).get("cpu_share", 0) * 100),
              get(lambda r: r["bench_cpu_share"] * 100),
              get(lambda r: r["load"]["begin"])))
print()
print("Medians of %s interleaved rounds; open loop, %s signals/s offered "
      "over %s pairs, 1500 B payload, %s s per measurement%s; %d s in all. "
      "p99 per round:" % (rounds, rate, pairs, duration,
                          ", server and bench at SCHED_FIFO %s" % chrt
                          if chrt else "", int(elapsed)))
for name, label in names.items():
    print("- %s: %s us" % (label, ", ".join(
        "%.0f" % r["result"]["latency_us"]["p99"] for r in rows
        if r["server"] == name)))
if missing:
    print("open_loop: missing figures for %s" % missing, file=sys.stderr)
    sys.exit(1)
EOF
echo "open_loop: every bench's JSON line is in $results" >&2
