#!/usr/bin/python3
"""Before the handshake and at the close, against the real server: sockets
counted from accept, handshake deadlines and lws's own timers on time on an
idle server, headers too large answered with 431, closes that say what
happened (docs/limits.md)."""

import asyncio
import json
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

    def warning(self, reason):
        """The first conn.refused record for reason, waited for: the log
        line is written after the client has its answer"""
        return self.server.wait_log("conn.refused", reason=reason)

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
        self.assertEqual(self.warning("max_connections_per_ip")["level"], "warn")
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
        self.assertEqual(self.warning("max_handshakes")["level"], "warn")
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


def candidate(i):
    return json.dumps({"type": "candidate", "room": "f",
                       "candidate": "c%d" % i}).encode()


def fragment(opcode, payload, final):
    """A masked frame; opcode 0 continues a message."""
    frame = bytearray(ws_frame(opcode, payload))
    if not final:
        frame[0] &= 0x7F
    return bytes(frame)


async def read_to_close(client):
    """Every frame until the close; and the close code."""
    frames = []
    try:
        while True:
            frames.append(await client.recv(timeout=10))
    except websockets.ConnectionClosed:
        pass
    return frames, client.ws.close_code


class HonestCloses(EdgeTest):
    server_args = ("--rate-limit", "5", "--rate-burst", "5",
                   "--max-frame-size", "4KiB")

    async def joined_raw(self):
        client = await connect(self.server)
        await client.send({"type": "join", "room": "f", "user": "u"})
        await client.barrier()
        return client

    async def test_a_flood_hears_rate_limited_and_1008(self):
        # Far more than the kernel's buffers hold, in one write: the
        # server must not reset the connection over the unread rest
        client = await self.joined_raw()
        client.ws.transport.write(b"".join(
            ws_frame(0x1, candidate(i)) for i in range(20000)))
        frames, code = await read_to_close(client)
        self.assertIn({"type": "error",
                       "message": "Too many messages; this one was dropped.",
                       "code": "rate_limited"}, frames)
        self.assertEqual(code, 1008)
        self.server.wait_log("conn.flood")

    async def test_a_flood_that_reads_late_still_hears_1008(self):
        # A client that floods for a second, then does not read for longer
        # than the server waits for its close to be answered, then reads:
        # what the server said must still be there (a reset would have
        # thrown it away)
        sock = await raw_connect(self.server.port, "/signal")

        def flood_then_read():
            sock.setblocking(False)
            start = time.monotonic()
            i = 0
            while time.monotonic() - start < 1:
                try:
                    sock.send(ws_frame(0x1, candidate(i)))
                    i += 1
                except BlockingIOError:
                    time.sleep(0.01)
                except OSError:
                    break       # reset: what the server said is lost
            time.sleep(7)
            sock.setblocking(True)
            data, _ = read_until_closed(sock, 5)
            return data
        data = await asyncio.to_thread(flood_then_read)
        sock.close()
        self.assertIn(b'"code":"rate_limited"', data)
        close = data.rfind(b"\x88")
        self.assertGreater(close, 0, data[-100:])
        self.assertEqual(data[close + 2:close + 4], (1008).to_bytes(2, "big"))

    async def test_replies_queued_before_a_1009_are_written_first(self):
        client = await self.joined_raw()
        client.ws.transport.write(
            ws_frame(0x1, b"not json") + ws_frame(0x1, b"[1]")
            + ws_frame(0x1, b"x" * 5000))
        frames, code = await read_to_close(client)
        self.assertEqual([f["code"] for f in frames],
                         ["invalid_json", "invalid_json"])
        self.assertEqual(code, 1009)


class EveryFrameCounts(EdgeTest):
    server_args = ("--rate-limit", "5", "--rate-burst", "5")

    async def test_empty_fragments_are_limited_then_closed(self):
        client = await connect(self.server)
        burst = fragment(0x1, b"", False) + b"".join(
            fragment(0x0, b"", False) for _ in range(5000))
        client.ws.transport.write(burst)
        frames, code = await read_to_close(client)
        self.assertEqual(code, 1008)
        self.assertEqual([f["code"] for f in frames], ["rate_limited"])

    async def test_pings_are_limited_then_closed(self):
        sock = await raw_connect(self.server.port, "/signal")

        def ping_flood():
            data = b""
            sock.settimeout(0.005)
            start = time.monotonic()
            try:
                while time.monotonic() - start < 5:
                    sock.send(ws_frame(0x9, b"p"))
                    try:
                        chunk = sock.recv(4096)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            return data, time.monotonic() - start
        data, took = await asyncio.to_thread(ping_flood)
        sock.close()
        self.assertLess(took, 4, "a ping flood was never cut")
        self.assertIn(b'"code":"rate_limited"', data)
        self.assertIn(b"\x88\x0e\x03\xf0rate_limited", data)

    async def test_a_fragmented_message_in_the_limit_passes(self):
        alice = await connect(self.server)
        await alice.send({"type": "join", "room": "g", "user": "alice"})
        bob = await connect(self.server)
        await bob.send({"type": "join", "room": "g", "user": "bob"})
        await bob.barrier()
        text = json.dumps({"type": "offer", "room": "g", "sdp": "s"})
        alice.ws.transport.write(fragment(0x1, text[:10].encode(), False)
                                 + fragment(0x0, text[10:].encode(), True))
        self.assertEqual((await bob.recv())["sdp"], "s")


class BufferBudget(EdgeTest):
    server_args = ("--buffer-budget", "8MiB", "--send-queue-max", "64MiB",
                   "--max-frame-size", "1MiB", "--rate-limit", "0")

    async def stalled_reader(self, user):
        """A member of room "b" that never reads (and has a small window)."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.server.port))
        sock.sendall(b"GET /signal HTTP/1.1\r\nHost: x\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        sock.sendall(ws_frame(0x1, json.dumps(
            {"type": "join", "room": "b", "user": user}).encode()))
        return sock

    async def test_the_largest_queues_are_cut_at_the_budget(self):
        stalled = [await self.stalled_reader("s%d" % i) for i in range(3)]
        self.server.wait_count("room.join", 3)
        reader = await connect(self.server)
        await reader.send({"type": "join", "room": "b", "user": "reader"})
        await reader.barrier()
        sender = await connect(self.server)
        await sender.send({"type": "join", "room": "b", "user": "sender"})
        await sender.barrier()
        sdp = "v" * (900 * 1024)
        for i in range(24):
            await sender.send({"type": "offer", "room": "b", "sdp": sdp})
            # the reader keeps up, and keeps everything
            self.assertEqual(len((await reader.recv(timeout=10))["sdp"]),
                             len(sdp))
        cut = self.server.wait_count("conn.over_budget", 3, timeout=10)
        self.assertEqual(len(cut), 3, cut)
        self.assertEqual(cut[0]["level"], "warn")
        samples = await self.metrics(homecall_budget_cuts_total=3)
        self.assertLessEqual(samples["homecall_buffered_bytes"], 8 << 20)
        for sock in stalled:
            sock.close()
        await reader.close()
        await sender.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
