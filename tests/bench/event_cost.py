#!/usr/bin/python3
"""What an observer costs the relay path: server CPU time per relayed
/signal frame, with nobody watching, with a tap on "relay." and with a tap
on everything. One process, LOG_LEVEL=info (a log record per relay in
every case), no rate limit; N candidates from alice to bob, after 2000
that give the tap's subscription time to reach rooms.

    HOMECALL_BINARY=build/homecall tests/bench/event_cost.py [N]
"""

import asyncio
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import Client, Server, cpu_seconds  # noqa: E402
from split import TAP  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


async def run(prefixes):
    server = Server("--log-level", "info", "--rate-limit", "0")
    tap = None
    if prefixes is not None:
        tap = subprocess.Popen([TAP, "--endpoint", observer(server),
                                *prefixes], stdout=subprocess.DEVNULL)
    try:
        alice = await Client.connect(server)
        bob = await Client.connect(server)
        await alice.send({"type": "join", "room": "b", "user": "alice"})
        await bob.send({"type": "join", "room": "b", "user": "bob"})
        await alice.barrier()
        await bob.barrier()
        frame = '{"type":"candidate","room":"b","candidate":"c"}'
        for _ in range(2000):
            await alice.ws.send(frame)
        for _ in range(2000):
            await bob.recv_raw()
        before = cpu_seconds(server.proc.pid)
        for _ in range(N):
            await alice.ws.send(frame)
        for _ in range(N):
            await bob.recv_raw()
        used = cpu_seconds(server.proc.pid) - before
        await alice.close()
        await bob.close()
    finally:
        if tap:
            tap.terminate()
            tap.wait()
        server.stop()
    return used / N * 1e6


def observer(server):
    return server.wait_log("bus.ready")["observer"]


async def main():
    for label, prefixes in (("nobody watching", None),
                            ("tap on relay.", ["relay."]),
                            ("tap on everything", [])):
        print("%-18s %6.1f us of server CPU per relayed frame" % (
            label, await run(prefixes)))


if __name__ == "__main__":
    asyncio.run(main())
