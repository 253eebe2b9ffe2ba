#!/usr/bin/python3
"""Churn soak: both dialects connect, call (p2p: one call in four with a
RECONNECT of the callee) and hang up in a loop against the
real server, for --duration seconds with --workers loops of each dialect.
Every --interval seconds it samples the server's RSS, open descriptors and
/metrics gauges. It fails when RSS grows by more than --rss-growth after
the warm-up, or when anything is left at the end: connections, pending
handshakes, rooms, members, p2p users, buffered bytes, descriptors.

    tests/soak/soak.py [--duration 30] [--workers 8] [--interval 10]
                       [--warmup 10] [--rss-growth 8]   (MiB)

CI runs 30 s of it (ctest soak_churn); run it for minutes by hand."""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import Client, Server, rss_kib, scrape_metrics  # noqa: E402

GAUGES = ("homecall_connections{dialect=\"signal\"}",
          "homecall_connections{dialect=\"p2p\"}", "homecall_handshakes",
          "homecall_buffered_bytes", "homecall_signal_rooms",
          "homecall_signal_members", "homecall_p2p_users",
          "homecall_p2p_linked_users", "homecall_lingering_sockets")
# What "nothing left" means; a scrape is one pending handshake itself
IDLE = dict({g: 0 for g in GAUGES}, homecall_handshakes=1)


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Counts:
    def __init__(self):
        self.calls = {"signal": 0, "p2p": 0, "reconnect": 0}
        self.errors = []


async def signal_loop(server, n, counts, stop):
    i = 0
    while not stop.is_set():
        room = "soak-%d-%d" % (n, i)
        a = await Client.connect(server, "/signal")
        b = await Client.connect(server, "/signal")
        await a.send({"type": "join", "room": room, "user": "a"})
        await b.send({"type": "join", "room": room, "user": "b"})
        await b.barrier()
        await a.send({"type": "offer", "room": room, "sdp": "v=0 " * 100})
        assert (await b.recv())["type"] == "offer"
        await b.send({"type": "answer", "room": room, "sdp": "v=0 answer"})
        assert (await a.recv())["type"] == "answer"
        await a.send({"type": "candidate", "room": room, "candidate": "c"})
        assert (await b.recv())["type"] == "candidate"
        if i % 3 == 0:
            await a.send({"type": "leave", "room": room})
        await a.close()
        await b.close()
        counts.calls["signal"] += 1
        i += 1


async def p2p_user(server, user):
    c = await Client.connect(server, "/")
    assert (await c.recv()) == {"type": "userConnect"}
    await c.send({"route": "ADD_USER", "userId": user})
    return c


async def p2p_loop(server, n, counts, stop):
    i = 0
    while not stop.is_set():
        caller, callee = "c%d-%d" % (n, i), "e%d-%d" % (n, i)
        a = await p2p_user(server, caller)
        b = await p2p_user(server, callee)
        await b.barrier()
        offer = {"type": "offer", "sdp": "v=0 " * 100}
        await a.send({"route": "OFFER", "userId": caller,
                      "candidates": [callee], "offer": offer})
        while (await b.recv()).get("type") != "call":
            pass
        await b.send({"route": "ANSWER", "userId": callee,
                      "answer": {"type": "answer", "sdp": "v=0"}})
        while (await a.recv()).get("type") != "acceptCall":
            pass
        if i % 4 == 0:
            # The callee's connection drops; it comes back with RECONNECT
            await b.close()
            b = await Client.connect(server, "/")
            assert (await b.recv()) == {"type": "userConnect"}
            await b.send({"route": "RECONNECT", "userId": callee})
            while (await b.recv()).get("type") != "reconnectSuccess":
                pass
            counts.calls["reconnect"] += 1
        await a.close()
        await b.close()
        counts.calls["p2p"] += 1
        i += 1


async def guarded(loop, counts, *args):
    try:
        await loop(*args)
    except Exception as error:     # noqa: BLE001 (reported, fails the run)
        counts.errors.append("%s: %r" % (loop.__name__, error))


def sample(server, start):
    status, metrics = scrape_metrics(server)
    assert status == 200, status
    row = {"t": round(time.monotonic() - start), "rss_kib":
           rss_kib(server.proc.pid), "fds": fds(server.proc.pid)}
    row.update({g: metrics.get(g, 0) for g in GAUGES})
    return row


def show(row):
    short = {k.replace("homecall_", "").replace('{dialect="', ".")
             .replace('"}', ""): v for k, v in row.items()}
    print("  ".join("%s=%s" % kv for kv in short.items()), flush=True)


async def soak(args):
    # A dropped call waits P2P_RECONNECT_GRACE: short, so the end is empty
    server = Server("--rate-limit", "0", "--link-heartbeat", "200ms",
                    "--p2p-reconnect-grace", "1s",
                    "--max-connections-per-ip", "0", "--log-level", "info")
    try:
        return await run(server, args)
    finally:
        code = server.stop()
        if code != 0:
            print("FAIL: server exit code %s" % code)


async def run(server, args):
    start = time.monotonic()
    base_fds = fds(server.proc.pid)
    counts = Counts()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(guarded(loop, counts, server, n, counts,
                                         stop))
             for n in range(args.workers)
             for loop in (signal_loop, p2p_loop)]
    samples = []
    deadline = start + args.duration
    while time.monotonic() < deadline and not counts.errors:
        await asyncio.sleep(min(args.interval, deadline - time.monotonic()))
        samples.append(await asyncio.to_thread(sample, server, start))
        show(samples[-1])
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    # Everything the load held goes back to nothing
    end = None
    for _ in range(100):
        end = await asyncio.to_thread(sample, server, start)
        if all(end[g] == v for g, v in IDLE.items()) \
                and end["fds"] <= base_fds + 1:
            break
        await asyncio.sleep(0.1)
    show(end)
    failures = list(counts.errors)
    left = {g: end[g] for g, v in IDLE.items() if end[g] != v}
    if left:
        failures.append("left at the end: %s" % left)
    if end["fds"] > base_fds + 1:
        failures.append("descriptors: %d at the start, %d at the end"
                        % (base_fds, end["fds"]))
    after = [s for s in samples if s["t"] >= args.warmup]
    if len(after) >= 2:
        growth = max(s["rss_kib"] for s in after[1:]) - after[0]["rss_kib"]
        print("RSS after warm-up: %d KiB, grew by at most %d KiB"
              % (after[0]["rss_kib"], growth))
        if growth > args.rss_growth * 1024:
            failures.append("RSS grew by %d KiB after the warm-up" % growth)
    print("calls: %(signal)d /signal, %(p2p)d p2p (%(reconnect)d with a "
          "RECONNECT)" % counts.calls)
    if min(counts.calls.values()) == 0:
        failures.append("no calls made")
    for failure in failures:
        print("FAIL:", failure)
    print("%d passed, %d failed" % (int(not failures), int(bool(failures))))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--rss-growth", type=float, default=8,
                        help="MiB RSS may grow after the warm-up")
    sys.exit(asyncio.run(soak(parser.parse_args())))


if __name__ == "__main__":
    main()
