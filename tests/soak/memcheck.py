#!/usr/bin/python3
"""The real server under valgrind's memcheck through one integration
scenario: both dialects calling, bad frames of every kind (not JSON, not
UTF-8, too large, a flood), a silent socket and one with headers too large,
then SIGTERM with clients still connected. Fails on any memcheck error and
on any definite, indirect or possible leak. Blocks still reachable at exit
are not errors: they are the libraries' own (CZMQ's and libzmq's globals,
glibc's), freed by the kernel, and none of ours survives s_self_destroy."""

import os
import socket
import stat
import sys
import tempfile
import unittest

# valgrind makes everything 20 to 50 times slower
os.environ.setdefault("HOMECALL_TEST_TIMEOUT", "30")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import harness  # noqa: E402
from harness import Client, Server  # noqa: E402
from test_signal import ws_frame  # noqa: E402


class Memcheck(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log = os.path.join(self.dir.name, "memcheck.log")
        wrapper = os.path.join(self.dir.name, "homecall")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec valgrind --tool=memcheck --quiet "
                    "--leak-check=full --show-leak-kinds=definite,indirect,"
                    "possible --errors-for-leak-kinds=definite,indirect,"
                    "possible --error-exitcode=99 --log-file=%s %s \"$@\"\n"
                    % (self.log, harness.BINARY))
        os.chmod(wrapper, stat.S_IRWXU)
        self.binary, harness.BINARY = harness.BINARY, wrapper

    def tearDown(self):
        harness.BINARY = self.binary
        self.dir.cleanup()

    async def test_a_scenario_has_no_error_and_no_leak(self):
        server = Server("--max-frame-size", "4KiB", "--rate-limit", "20",
                        "--rate-burst", "20", "--handshake-timeout", "5s")
        try:
            await self.scenario(server)
        finally:
            code = server.stop(timeout=120)
        self.assertEqual(server.args[0], harness.BINARY)
        self.assertTrue(os.path.exists(self.log), "valgrind did not run")
        with open(self.log) as f:
            report = f.read()
        self.assertEqual(code, 0, report)
        self.assertEqual(report.strip(), "", report)

    async def scenario(self, server):
        idle = socket.create_connection(("127.0.0.1", server.port))
        big = socket.create_connection(("127.0.0.1", server.port))
        big.sendall(b"GET /signal HTTP/1.1\r\nCookie: x=" + b"v" * 20000
                    + b"\r\n\r\n")
        # /signal: a call, then bad frames from a third member
        a = await Client.connect(server, "/signal")
        b = await Client.connect(server, "/signal")
        await a.send({"type": "join", "room": "m", "user": "a"})
        await b.send({"type": "join", "room": "m", "user": "b"})
        await b.barrier()
        await a.send({"type": "offer", "room": "m", "sdp": "v=0"})
        self.assertEqual((await b.recv())["type"], "offer")
        for bad in (b"not json", b"[1]", b"\xff\xfe", b"x" * 5000):
            c = await Client.connect(server, "/signal")
            await c.ws.ensure_open()
            c.ws.transport.write(ws_frame(0x1, bad))
            await c.closed() if bad in (b"\xff\xfe", b"x" * 5000) \
                else await c.recv()
            await c.close()
        flood = await Client.connect(server, "/signal")
        flood.ws.transport.write(b"".join(
            ws_frame(0x1, b'{"type":"leave","room":"z"}')
            for _ in range(200)))
        await flood.closed()
        # p2p: a call
        p = await Client.connect(server, "/")
        q = await Client.connect(server, "/")
        for client, user in ((p, "p"), (q, "q")):
            self.assertEqual(await client.recv(), {"type": "userConnect"})
            await client.send({"route": "ADD_USER", "userId": user})
        await q.barrier()
        await p.send({"route": "OFFER", "userId": "p", "candidates": ["q"],
                      "offer": {"type": "offer", "sdp": "v=0"}})
        while (await q.recv()).get("type") != "call":
            pass
        await q.send({"route": "ANSWER", "userId": "q",
                      "answer": {"type": "answer", "sdp": "v=0"}})
        while (await p.recv()).get("type") != "acceptCall":
            pass
        # SIGTERM (in the caller) with all of them still connected
        idle.close()
        big.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
