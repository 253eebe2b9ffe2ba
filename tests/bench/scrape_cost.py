#!/usr/bin/python3
"""What a /metrics scrape costs with N joined /signal connections open (N
from argv, default 2000): the median time of 200 scrapes against the median
of 200 /healthz requests in the same run (the baseline: the same HTTP path
without the walk over connections and the page).

    HOMECALL_BINARY=build/homecall tests/bench/scrape_cost.py 2000
"""

import asyncio
import statistics
import sys
import time
import urllib.request

from many_clients import joined, server_for

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
    server = server_for(N)
    try:
        async with joined(server, N):
            health, _ = await asyncio.to_thread(timed_gets, server.port,
                                                "/healthz")
            metrics, size = await asyncio.to_thread(timed_gets, server.port,
                                                    "/metrics")
        print("%d connections: /healthz median %.3f ms, /metrics median "
              "%.3f ms (%d bytes), ratio %.2f" % (N, health, metrics, size,
                                                  metrics / health))
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
