#!/bin/bash
# compare.sh - server CPU per relayed signal: homecall (defaults and
# LOG_LEVEL=warn), the bare relay and the PeerJS server, measured by the
# same client (homecall-bench) in one run, in interleaved rounds
#
#   tests/bench/compare.sh [--rounds N] [--duration S] [--pairs N]
#                          [--idle N] [--build DIR] [--before DIR]
#                          [--out DIR] [--smoke]
#
# --before DIR: DIR/homecall (another build, e.g. of an older commit) runs
# in the same rounds, at defaults and at LOG_LEVEL=warn, measured by the
# same bench: a same-run before/after.
# Each round starts every server in turn, on 127.0.0.1 and a free port,
# runs a closed loop of --pairs pairs relaying 1.5 KB offers and answers
# for --duration seconds with 0 and then with --idle idle joined
# connections held (by the same bench process), reads the server's CPU
# from /proc, and stops the server by its pid. Medians over the rounds
# and ratios to the bare relay and to PeerJS go in a Markdown table on
# stdout; every bench's JSON line is kept in --out (default: a temporary
# directory, named at the end). docs/performance.md shows the table.
#
# PeerJS (npm "peer", pinned below) is installed into
# ~/.cache/homecall-bench on first use (HOMECALL_BENCH_CACHE to change).
# --smoke: 1 round of 2 s, 5 pairs, 20 idle, homecall and the bare relay
# only (the ctest bench_smoke runs it).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=3
duration=8
pairs=100
idle=9000
build="$top/build"
out=""
before=""
smoke=0
peer_version=1.0.2
cache=${HOMECALL_BENCH_CACHE:-$HOME/.cache/homecall-bench}

while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --before) before=$(cd "$2" && pwd); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --smoke) smoke=1; shift ;;
        *) sed -n '2,25p' "$0" >&2; exit 2 ;;
    esac
done
servers="homecall homecall-warn bare peerjs"
if [ -n "$before" ]; then
    [ -x "$before/homecall" ] || { echo "compare: no $before/homecall" >&2; exit 2; }
    servers="before before-warn $servers"
fi
if [ "$smoke" = 1 ]; then
    rounds=1 duration=2 pairs=5 idle=20
    servers="homecall bare"
fi
[ -n "$out" ] || out=$(mktemp -d /tmp/homecall-compare.XXXXXX)
mkdir -p "$out"
for program in homecall homecall-bench bare_relay; do
    [ -x "$build/$program" ] || { echo "compare: no $build/$program (build first)" >&2; exit 2; }
done

# PeerJS, once, into the cache
peerjs="$cache/node_modules/peer/dist/bin/peerjs.js"
case " $servers " in
    *" peerjs "*)
        if [ ! -f "$peerjs" ]; then
            echo "compare: installing peer@$peer_version into $cache" >&2
            mkdir -p "$cache"
            npm install --prefix "$cache" --no-audit --no-fund --silent \
                "peer@$peer_version" >&2
        fi
        command -v node >/dev/null || { echo "compare: node is missing" >&2; exit 2; }
        ;;
esac

. "$top/tests/bench/servers.sh"

results="$out/results.jsonl"
: >"$results"
started=$(date +%s)
for round in $(seq "$rounds"); do
    for held in 0 "$idle"; do
        for name in $servers; do
            port=$(free_port)
            start_server "$name" "$port"
            dialect=signal
            [ "$name" = peerjs ] && dialect=peerjs
            line=$("$build/homecall-bench" --mode closed --dialect "$dialect" \
                   --url "ws://127.0.0.1:$port" --pairs "$pairs" \
                   --duration "$duration" --idle "$held" --pid "$server_pid" \
                   --connect-timeout 120 \
                   2>>"$out/bench.err") || line=""
            stop_server
            if [ -z "$line" ]; then
                echo "compare: round $round, $name, $held idle: no figures" >&2
                continue
            fi
            printf '{"round":%s,"server":"%s","held":%s,"result":%s}\n' \
                "$round" "$name" "$held" "$line" >>"$results"
            echo "compare: round $round, $name, $held idle: done" >&2
        done
    done
done
elapsed=$(( $(date +%s) - started ))

/usr/bin/python3 - "$results" "$idle" "$rounds" "$duration" "$pairs" \
    "$elapsed" "$servers" <<'EOF'
import json, statistics, sys
path, idle, rounds, duration, pairs, elapsed, servers = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
names = {"before": "before (--before), defaults (LOG_LEVEL=info)",
         "before-warn": "before (--before), LOG_LEVEL=warn",
         "homecall": "homecall, defaults (LOG_LEVEL=info)",
         "homecall-warn": "homecall, LOG_LEVEL=warn",
         "bare": "bare lws-on-libev relay",
         "peerjs": "PeerJS server (npm peer)"}
cpu, rate = {}, {}
for row in rows:
    server = row["result"].get("server")
    if not server or not row["result"]["relayed"]:
        continue
    key = (row["server"], row["held"])
    cpu.setdefault(key, []).append(server["cpu_us_per_msg"])
    rate.setdefault(key, []).append(row["result"]["relayed_per_s"])
med = {k: statistics.median(v) for k, v in cpu.items()}
order = [s for s in names if any(k[0] == s for k in med)]
held = [0, int(idle)]

def fig(server, h):
    return "%.1f us" % med[(server, h)] if (server, h) in med else "-"

def ratio(server, base, h):
    a, b = med.get((server, h)), med.get((base, h))
    return "%.2fx" % (a / b) if a and b else "-"

print("| server | CPU per relayed msg | with %s idle | vs bare | vs PeerJS "
      "| relayed msgs/s |" % format(int(idle), ","))
print("|---|---|---|---|---|---|")
for s in order:
    print("| %s | %s | %s | %s / %s | %s / %s | %s |" % (
        names[s], fig(s, 0), fig(s, held[1]),
        ratio(s, "bare", 0), ratio(s, "bare", held[1]),
        ratio(s, "peerjs", 0), ratio(s, "peerjs", held[1]),
        "%.0f" % statistics.median(rate[(s, 0)]) if (s, 0) in rate else "-"))
print()
print("Medians of %s interleaved rounds; closed loop, %s pairs, 1500 B "
      "payload, %s s per measurement; ratios: this server's median over "
      "the other's (0 idle / %s idle); %d s in all." % (
          rounds, pairs, duration, format(int(idle), ","), int(elapsed)))
# Where homecall's CPU goes: per thread name (hc-gateway, hc-rooms, ...)
threads = {}
for row in rows:
    server = row["result"].get("server")
    if row["server"].startswith("homecall") and server and row["held"] == 0:
        for t in server["threads"]:
            threads.setdefault((row["server"], t["name"]), []).append(
                t["cpu_us_per_msg"])
named = sorted({name for (_, name) in threads})
named = [n for n in named if any(statistics.median(v) >= 0.1
                                 for (_, m), v in threads.items() if m == n)]
if named:
    print()
    print("| homecall, per thread (us per relayed msg, 0 idle) | %s |"
          % " | ".join(named))
    print("|---|%s" % ("---|" * len(named)))
    for s in ("before", "before-warn", "homecall", "homecall-warn"):
        if any(k[0] == s for k in threads):
            print("| %s | %s |" % (names[s], " | ".join(
                "%.1f" % statistics.median(threads[(s, n)])
                if (s, n) in threads else "-" for n in named)))
missing = [(s, h) for s in servers.split() for h in held
           if (s, h) not in med]
if missing:
    print("compare: missing figures for %s" % missing, file=sys.stderr)
    sys.exit(1)
EOF
echo "compare: every bench's JSON line is in $results" >&2
