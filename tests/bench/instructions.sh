#!/bin/bash
# instructions.sh - user-space instructions per relayed signal, counted by
# callgrind: a figure the machine's noise does not move (CPU time does)
#
#   tests/bench/instructions.sh [--build DIR] [--duration S] [--pairs N]
#
# Each server (homecall at defaults, homecall at LOG_LEVEL=warn, the bare
# relay) runs under valgrind --tool=callgrind, instrumentation off; once it
# listens, it is turned on (callgrind_control -i on) and
# homecall-bench runs a closed loop (--pairs pairs, 1.5 KB, --duration
# seconds, no warm-up, so the pairs' handshakes are counted too: a few
# percent at these durations); then the server is stopped by its pid and
# its instruction total (Ir) divided by the signals relayed. Kernel time
# (system calls) is not in it: compare with compare.sh's CPU figures.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build"
duration=20
pairs=10
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        *) sed -n '2,15p' "$0" >&2; exit 2 ;;
    esac
done
out=$(mktemp -d /tmp/homecall-instructions.XXXXXX)
pid=""
trap '[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }' EXIT

for name in homecall homecall-warn bare; do
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    grind="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$out/$name.out"
    case "$name" in
        bare) $grind "$build/bare_relay" --port "$port" >"$out/$name.log" 2>&1 & ;;
        *)  level=info
            [ "$name" = homecall-warn ] && level=warn
            $grind "$build/homecall" --ws-host 127.0.0.1 --ws-port "$port" \
                --rate-limit 0 --max-connections-per-ip 0 \
                --observer-endpoint "" --log-level "$level" \
                --log-format json >"$out/$name.log" 2>&1 & ;;
    esac
    pid=$!
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    callgrind_control -i on "$pid" >/dev/null 2>&1
    "$build/homecall-bench" --url "ws://127.0.0.1:$port" --pairs "$pairs" \
        --duration "$duration" --warmup 0 2>/dev/null >"$out/$name.json"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
done

/usr/bin/python3 - "$out" "$pairs" "$duration" <<'EOF'
import json, os, re, sys
out, pairs, duration = sys.argv[1:]
names = {"homecall": "homecall, defaults (LOG_LEVEL=info)",
         "homecall-warn": "homecall, LOG_LEVEL=warn",
         "bare": "bare lws-on-libev relay"}
per = {}
for name in names:
    relayed = json.load(open(os.path.join(out, name + ".json")))["relayed"]
    text = open(os.path.join(out, name + ".out")).read()
    total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if relayed and total:
        per[name] = int(total.group(1)) / relayed
print("| server | instructions per relayed msg | vs bare |")
print("|---|---|---|")
for name, label in names.items():
    if name in per:
        print("| %s | %.0f | %.2fx |" % (label, per[name],
              per[name] / per["bare"] if "bare" in per else 0))
print()
print("callgrind, user space only; closed loop, %s pairs, 1500 B, %s s "
      "per server." % (pairs, duration))
sys.exit(0 if len(per) == len(names) else 1)
EOF
