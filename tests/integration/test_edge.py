#!/usr/bin/python3
"""Before the handshake and at the close, against the real server: sockets
counted from accept, handshake deadlines and lws's own timers on time on an
idle server, headers too large answered with 431, closes that say what
happened (docs/limits.md)."""

import asyncio
import os
import socket
import sys
import time
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, ServerTest, TIMEOUT  # noqa: E402
from test_signal import raw_connect, read_frame, ws_frame  # noqa: E402


def idle_socket(port, source="127.0.0.1"):
    """A TCP connection that never sends a byte."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                    source_address=(source, 0))
    return sock


def read_until_closed(sock, limit):
    """Everything the server sends until it closes; and how long that
    took (None if it did not close within limit seconds)."""
    start = time.monotonic()
    data = b""
    sock.settimeout(0.1)
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, time.monotonic() - start
        if not chunk:
            return data, time.monotonic() - start
        data += chunk
    return data, None


async def connect(server, source="127.0.0.1", path="/signal", **kwargs):
    ws = await asyncio.wait_for(websockets.connect(
        server.url(path), local_addr=(source, 0), max_size=None, **kwargs),
        TIMEOUT)
    return Client(ws, p2p=path != "/signal")


class EdgeTest(ServerTest):
    async def pending(self, n):
        """Waits until n sockets wait for their handshake (and the scrape,
        a pending HTTP request itself)."""
        return await self.metrics(homecall_handshakes=n + 1)

    def warnings(self, reason):
        return [r for r in self.server.find("conn.refused")
                if r["reason"] == reason]

    async def refused_status(self, source="127.0.0.1", **kwargs):
        with self.assertRaises(websockets.InvalidStatusCode) as caught:
            await connect(self.server, source, **kwargs)
        return caught.exception.status_code


class HandshakeDeadline(EdgeTest):
    server_args = ("--handshake-timeout", "2s")

    async def test_a_silent_socket_is_closed_at_the_deadline(self):
        sock = idle_socket(self.server.port)
        data, took = await asyncio.to_thread(read_until_closed, sock, 10)
        sock.close()
        self.assertIsNotNone(took, "socket still open after 10 s")
        self.assertGreater(took, 1.5)
        self.assertLess(took, 3.2)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.server.wait_log("conn.refused", reason="handshake_timeout")
        await self.pending(0)

    async def test_slow_headers_do_not_move_the_deadline(self):
        sock = idle_socket(self.server.port)

        def trickle():
            start = time.monotonic()
            sock.sendall(b"GET /signal HTTP/1.1\r\n")
            sock.settimeout(0.3)
            while time.monotonic() - start < 10:
                sock.sendall(b"X-Slow: 1\r\n")
                try:
                    return sock.recv(4096), time.monotonic() - start
                except socket.timeout:
                    pass
            return b"", None
        answer, took = await asyncio.to_thread(trickle)
        sock.close()
        self.assertIsNotNone(took, "no answer in 10 s")
        self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), answer)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 3.2)

    async def test_a_client_in_time_is_not_touched(self):
        alice = await connect(self.server)
        await asyncio.sleep(2.5)
        await alice.send({"type": "join", "room": "h", "user": "alice"})
        self.assertEqual(await alice.barrier(), [])
        await alice.close()


class CloseTimers(EdgeTest):
    async def test_an_unanswered_close_ends_within_its_timeout(self):
        # The server closes with 1007; the client never answers the close.
        # lws waits 5 s for the answer, then the socket must go, on an
        # idle server too (it used to stay about 30 s)
        sock = await raw_connect(self.server.port, "/signal")
        await self.metrics(**{'homecall_connections{dialect="signal"}': 1})
        sock.sendall(ws_frame(0x1, b"\xff\xfe"))
        opcode, payload = read_frame(sock)
        self.assertEqual((opcode, payload[:2]), (0x8, (1007).to_bytes(2,
                                                                     "big")))
        _, took = await asyncio.to_thread(read_until_closed, sock, 10)
        sock.close()
        self.assertIsNotNone(took, "socket still open 10 s after the close")
        self.assertLess(took, 7)
        await self.metrics(**{'homecall_connections{dialect="signal"}': 0})


class AcceptCounts(EdgeTest):
    server_args = ("--trusted-proxies", "", "--max-connections-per-ip", "3",
                   "--handshake-timeout", "30s")

    async def test_idle_sockets_count_against_their_address(self):
        # (from an address of their own: /metrics is read from 127.0.0.1)
        idle = [idle_socket(self.server.port, "127.0.0.3") for _ in range(3)]
        await self.pending(3)
        # A fourth socket from the address is refused at once, with a
        # status its client can report
        start = time.monotonic()
        self.assertEqual(await self.refused_status("127.0.0.3"), 429)
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual(self.warnings("max_connections_per_ip")[0]["level"],
                         "warn")
        # Another address is not concerned
        other = await connect(self.server, "127.0.0.2")
        await other.send({"type": "join", "room": "a", "user": "other"})
        self.assertEqual(await other.barrier(), [])
        # Once the idle sockets go, their address has its places back
        for sock in idle:
            sock.close()
        await self.pending(0)
        again = await connect(self.server, "127.0.0.3")
        await again.close()
        await other.close()


class PendingCap(EdgeTest):
    # The old descriptor limit was MAX_CONNECTIONS + 64 = 66 sockets
    server_args = ("--max-connections", "2", "--max-handshakes", "5",
                   "--max-connections-per-ip", "0", "--handshake-timeout",
                   "30s")

    async def test_pending_handshakes_cannot_take_the_connections(self):
        idle = [idle_socket(self.server.port) for _ in range(75)]

        def answered():
            """Idle sockets the server answered (and closed)."""
            count = 0
            for sock in idle:
                sock.settimeout(0.001)
                try:
                    data = sock.recv(4096, socket.MSG_PEEK)
                    count += data.startswith(b"HTTP/1.1 503 ") or not data
                except (socket.timeout, ConnectionResetError):
                    pass
            return count
        # Each socket past MAX_HANDSHAKES pushes the oldest out, with a 503
        for _ in range(100):
            if answered() >= 70:
                break
            await asyncio.sleep(0.05)
        self.assertEqual(answered(), 70)
        # Clients that do their handshake still get in, and talk; the first
        # pushes out one more idle socket while it is pending (then there
        # is room for the second)
        alice = await connect(self.server)
        bob = await connect(self.server)
        for client, user in ((alice, "alice"), (bob, "bob")):
            await client.send({"type": "join", "room": "p", "user": user})
            await client.barrier()
        await alice.send({"type": "offer", "room": "p", "sdp": "x"})
        self.assertEqual((await bob.recv())["sdp"], "x")
        self.assertEqual(answered(), 71)
        self.assertEqual(self.warnings("max_handshakes")[0]["level"], "warn")
        for sock in idle:
            sock.close()
        await alice.close()
        await bob.close()


class Headers(EdgeTest):
    async def test_a_browser_with_big_cookies_gets_in(self):
        cookie = "; ".join("c%d=%s" % (i, "v" * 200) for i in range(50))
        self.assertGreater(len(cookie), 10000)
        client = await connect(self.server, extra_headers={"Cookie": cookie})
        await client.send({"type": "join", "room": "b", "user": "big"})
        self.assertEqual(await client.barrier(), [])
        await client.close()

    async def test_headers_too_large_get_431_and_a_warning(self):
        cookie = "x=" + "v" * 20000
        for _ in range(5):
            self.assertEqual(await self.refused_status(
                extra_headers={"Cookie": cookie}), 431)
        refused = self.server.wait_log("conn.refused",
                                       reason="header_too_large")
        self.assertEqual((refused["level"], refused["count"]), ("warn", 1))
        await self.metrics(**{'homecall_connections_refused_total'
                              '{reason="header_too_large"}': 5})
        # lws's own line about it is a warning too, once a second
        self.assertLessEqual(len(self.server.find("lws.message")), 2)
        # tearDown: no error record at all


if __name__ == "__main__":
    unittest.main(verbosity=2)
