#!/bin/sh
# setup.sh - installs what is missing on Debian 12, builds, then runs the
# server or the tests. Run from anywhere, as root (or with sudo available).
#
#   deploy/setup.sh run [homecall options]   build and start the server
#   deploy/setup.sh test                     build plain and sanitized, run
#                                            every test in both builds
#   deploy/setup.sh build                    only install and build
#   deploy/setup.sh install                  build, then install the binary,
#                                            homecall-bench, settings, docs
#                                            and systemd units; start the
#                                            all-in-one homecall.service
#   deploy/setup.sh install split PORT...    the same, but start rooms
#                                            (homecall-rooms.service) and a
#                                            gateway per PORT
#                                            (homecall-gateway@PORT)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

BUILD_PACKAGES="build-essential cmake pkg-config \
libwebsockets-dev libwebsockets-evlib-ev libev-dev \
libczmq-dev libzmq3-dev libmsgpack-dev libcjson-dev libcurl4-openssl-dev \
libssl-dev"
TEST_PACKAGES="python3 python3-websockets python3-zmq chromium coturn \
nginx apache2 systemd openssl valgrind"

sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo=sudo
fi

# Installs only the packages that are not installed yet
install_missing () {
    missing=""
    for package in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        case "$status" in
            *"ok installed"*) ;;
            *) missing="$missing $package" ;;
        esac
    done
    if [ -n "$missing" ]; then
        echo "setup: installing$missing"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
        # shellcheck disable=SC2086
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $missing
    fi
    # The tests start their own coturn on loopback; the packaged service
    # (every interface, port 3478) is not wanted where they installed it
    case " $missing " in
        *" coturn "*)
            if [ -d /run/systemd/system ]; then
                $sudo systemctl disable --now coturn || true
            fi ;;
    esac
}

jobs=$(nproc 2>/dev/null || echo 2)

build () {    # build DIR [cmake options]
    dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

command=${1:-run}
[ $# -gt 0 ] && shift
case "$command" in
    run)
        # shellcheck disable=SC2086
        install_missing $BUILD_PACKAGES
        build build
        echo "setup: starting build/homecall (Ctrl-C stops it)"
        exec build/homecall "$@"
        ;;
    build)
        # shellcheck disable=SC2086
        install_missing $BUILD_PACKAGES
        build build
        ;;
    test)
        # shellcheck disable=SC2086
        install_missing $BUILD_PACKAGES $TEST_PACKAGES
        build build
        build build-asan -DHOMECALL_SANITIZE=ON
        echo "setup: tests, plain build"
        ctest --test-dir build --output-on-failure -j "$jobs"
        echo "setup: tests, AddressSanitizer + UBSan build"
        ctest --test-dir build-asan --output-on-failure -j "$jobs"
        ;;
    install)
        # shellcheck disable=SC2086
        install_missing $BUILD_PACKAGES
        build build
        $sudo install -m 755 build/homecall /usr/local/bin/homecall
        # The load generator, so operators can load-test their deployment
        $sudo install -m 755 build/homecall-bench /usr/local/bin/homecall-bench
        $sudo install -d -m 755 /etc/homecall \
            /usr/local/share/doc/homecall/docs
        [ -f /etc/homecall/homecall.env ] || \
            $sudo install -m 640 deploy/homecall.env.example \
                /etc/homecall/homecall.env
        $sudo install -m 644 README.md /usr/local/share/doc/homecall/
        # docs/ beside it, so the README's links work there too
        $sudo install -m 644 docs/*.md /usr/local/share/doc/homecall/docs/
        [ -f /etc/homecall/split.env ] || \
            $sudo install -m 640 deploy/homecall-split.env.example \
                /etc/homecall/split.env
        for unit in homecall.service homecall-rooms.service \
                    homecall-gateway@.service; do
            $sudo install -m 644 "deploy/$unit" "/etc/systemd/system/$unit"
        done
        $sudo install -m 644 deploy/logrotate.conf /etc/logrotate.d/homecall
        id homecall >/dev/null 2>&1 || \
            $sudo useradd --system --no-create-home --shell /usr/sbin/nologin \
                homecall
        # One process (homecall), or rooms and a gateway per port
        units=homecall
        if [ "${1:-}" = split ]; then
            shift
            [ $# -gt 0 ] || set -- 5555
            units=homecall-rooms
            for port in "$@"; do
                units="$units homecall-gateway@$port"
            done
        fi
        if [ -d /run/systemd/system ]; then
            $sudo systemctl daemon-reload
            # shellcheck disable=SC2086
            $sudo systemctl enable --now $units
            echo "setup: running: $units (systemctl status 'homecall*')"
        else
            echo "setup: installed; no systemd here, start /usr/local/bin/homecall"
        fi
        ;;
    *)
        echo "usage: deploy/setup.sh run|test|build|install" >&2
        exit 2
        ;;
esac
