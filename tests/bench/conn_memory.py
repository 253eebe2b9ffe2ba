#!/usr/bin/python3
"""Server memory with N joined /signal connections (N from argv, default
2000): resident set before and after, and the difference per connection.

    HOMECALL_BINARY=build/homecall tests/bench/conn_memory.py 2000
"""

import asyncio
import os
import resource
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import Client, Server  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 1024), hard))
    # Every client is on loopback: no cap per address here
    server = Server("--rate-limit", "0", "--max-connections-per-ip", "0")
    try:
        before = rss_kib(server.proc.pid)
        clients = []
        for i in range(N):
            c = await Client.connect(server, ping_interval=None)
            await c.send({"type": "join", "room": "r%d" % (i // 2),
                          "user": "u%d" % (i % 2)})
            clients.append(c)
        await clients[-1].barrier()
        after = rss_kib(server.proc.pid)
        print("idle RSS %d KiB; with %d joined connections %d KiB; "
              "%.0f bytes per connection" % (before, N, after,
                                             (after - before) * 1024 / N))
        for c in clients:
            await c.ws.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
