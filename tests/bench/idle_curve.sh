#!/bin/bash
# idle_curve.sh - server CPU per idle connection per ping round, and RSS
# per connection, at several connection counts: is the idle path linear?
#
#   tests/bench/idle_curve.sh [--build DIR] [--duration S] [--server homecall|bare]
#                             [N ...]          (default 2500 5000 10000 19000)
#
# For each N a fresh server on 127.0.0.1 (homecall with PING_INTERVAL=5s
# PING_TIMEOUT=5s, or the bare relay with the same), homecall-bench --mode
# idle holding N joined connections for --duration seconds (default 30),
# the server stopped by its pid. Prints a Markdown table
# (docs/performance.md).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build"
duration=30
server=homecall
counts=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --server) server=$2; shift 2 ;;
        -*) sed -n '2,13p' "$0" >&2; exit 2 ;;
        *) counts="$counts $1"; shift ;;
    esac
done
[ -n "$counts" ] || counts="2500 5000 10000 19000"

pid=""
trap '[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }' EXIT
echo "| connections | connect+join/s | drops | us CPU per connection per ping round | KiB RSS per connection |"
echo "|---|---|---|---|---|"
for n in $counts; do
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if [ "$server" = bare ]; then
        "$build/bare_relay" --port "$port" --ping-interval 5 \
            --ping-timeout 5 >/dev/null 2>&1 &
    else
        "$build/homecall" --ws-host 127.0.0.1 --ws-port "$port" \
            --rate-limit 0 --max-connections-per-ip 0 --max-connections 20000 \
            --observer-endpoint "" --log-level warn --ping-interval 5s \
            --ping-timeout 5s >/dev/null 2>&1 &
    fi
    pid=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
    "$build/homecall-bench" --mode idle --idle "$n" --duration "$duration" \
        --ping-interval 5 --url "ws://127.0.0.1:$port" --pid "$pid" \
        2>/dev/null | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
s = r["server"]
print("| %d | %.0f | %d | %.2f | %.2f |" % (r["connected"], r["connect_per_s"],
      r["drops"], s["cpu_us_per_conn_per_ping"], s["rss_per_conn"] / 1024))'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
done
