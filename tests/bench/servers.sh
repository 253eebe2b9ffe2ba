# servers.sh - what compare.sh and open_loop.sh share: a free port, a
# server started in the background and stopped by its pid (sourced)

run=()

server_pid=""
stop_server () {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

free_port () {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts server $1 (homecall, homecall-warn, before, before-warn: the
# --before build's homecall, bare, peerjs) on port $2 in
# the background, as "${run[@]}" says (chrt, or nothing); sets server_pid,
# waits until the port takes connections. Uses $build, $out and $peerjs.
start_server () {
    name=$1 port=$2 log="$out/$1.log"
    case "$name" in
        homecall|homecall-warn|before|before-warn)
            level=info binary="$build/homecall"
            case "$name" in *-warn) level=warn ;; esac
            case "$name" in before*) binary="$before/homecall" ;; esac
            "${run[@]}" "$binary" --ws-host 127.0.0.1 --ws-port "$port" \
                --rate-limit 0 --max-connections-per-ip 0 \
                --max-connections 20000 --observer-endpoint "" \
                --log-level "$level" --log-format json >"$log" 2>&1 &
            ;;
        bare)
            "${run[@]}" "$build/bare_relay" --port "$port" >"$log" 2>&1 & ;;
        peerjs)
            node "$peerjs" --host 127.0.0.1 --port "$port" \
                --concurrent_limit 20000 >"$log" 2>&1 & ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$(basename "$0"): $name did not listen on $port (see $log)" >&2
    return 1
}
