"""Many joined /signal clients on one server, for the benchmarks that
measure the server with N connections open (conn_memory, scrape_cost)."""

import os
import resource
import sys
from contextlib import asynccontextmanager

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import Client, Server  # noqa: E402


def server_for(n):
    """A server that takes n clients from loopback: no rate limit, no cap
    per address, and file descriptors enough on our side too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    return Server("--rate-limit", "0", "--max-connections-per-ip", "0")


@asynccontextmanager
async def joined(server, n):
    """n clients joined two by two in rooms r0, r1...; all of them have
    been processed when the block starts, and are closed after it."""
    clients = []
    try:
        for i in range(n):
            c = await Client.connect(server, ping_interval=None)
            await c.send({"type": "join", "room": "r%d" % (i // 2),
                          "user": "u%d" % (i % 2)})
            clients.append(c)
        await clients[-1].barrier()
        yield clients
    finally:
        for c in clients:
            await c.ws.close()
