#!/usr/bin/python3
"""What a /metrics scrape costs with N joined /signal connections open (N
from argv, default 2000): the median time of 200 scrapes against the median
of 200 /healthz requests in the same run (the baseline: the same HTTP path
without the walk over connections and the page).

    HOMECALL_BINARY=build/homecall tests/bench/scrape_cost.py 2000
"""

import asyncio
import os
import resource
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import Client, Server  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
ROUNDS = 200


def timed_gets(port, path):
    url = "http://127.0.0.1:%d%s" % (port, path)
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as reply:
            size = len(reply.read())
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, size


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 1024), hard))
    server = Server("--rate-limit", "0", "--max-connections-per-ip", "0")
    try:
        clients = []
        for i in range(N):
            c = await Client.connect(server, ping_interval=None)
            await c.send({"type": "join", "room": "r%d" % (i // 2),
                          "user": "u%d" % (i % 2)})
            clients.append(c)
        await clients[-1].barrier()
        health, _ = await asyncio.to_thread(timed_gets, server.port,
                                            "/healthz")
        metrics, size = await asyncio.to_thread(timed_gets, server.port,
                                                "/metrics")
        print("%d connections: /healthz median %.3f ms, /metrics median "
              "%.3f ms (%d bytes), ratio %.2f" % (N, health, metrics, size,
                                                  metrics / health))
        for c in clients:
            await c.ws.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
