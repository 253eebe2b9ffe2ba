#!/usr/bin/python3
"""Server memory with N joined /signal connections (N from argv, default
2000): resident set before and after, and the difference per connection.

    HOMECALL_BINARY=build/homecall tests/bench/conn_memory.py 2000
"""

import asyncio
import sys

from many_clients import joined, server_for
from harness import rss_kib  # noqa: E402 (on the path many_clients set)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


async def main():
    server = server_for(N)
    try:
        before = rss_kib(server.proc.pid)
        async with joined(server, N):
            after = rss_kib(server.proc.pid)
        print("idle RSS %d KiB; with %d joined connections %d KiB; "
              "%.0f bytes per connection" % (before, N, after,
                                             (after - before) * 1024 / N))
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
