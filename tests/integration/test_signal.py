#!/usr/bin/python3
"""The /signal dialect against the real server: every rule of docs/signal.md
section 1, with real WebSocket clients over loopback."""

import asyncio
import json
import math
import os
import signal
import socket
import sys
import time
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Server, ServerTest, TIMEOUT,  # noqa: E402
                     scrape_metrics)

SDP_A = "v=0\r\no=- 4451 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SDP_B = "v=0\r\no=- 6703 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CAND_A = {"candidate": "candidate:1 1 udp 2122194687 192.0.2.2 38483 typ "
                       "host generation 0", "sdpMid": "0", "sdpMLineIndex": 0}
CAND_B = {"candidate": "candidate:2 1 udp 2122194687 192.0.2.2 50116 typ "
                       "host generation 0", "sdpMid": "0", "sdpMLineIndex": 0}


def invalid(code):
    return {"type": "error", "message": "Invalid message", "code": code}


class CallFlow(ServerTest):
    """The reference's example exchanges E1-E5, under docs/signal.md."""

    async def test_join_is_silent_and_relays_have_exact_shapes(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        self.assertEqual(alice.pending + bob.pending, [])
        await alice.send({"type": "offer", "room": "w1", "from": "alice",
                          "sdp": SDP_A, "to": "bob", "extra": 1})
        self.assertEqual(await bob.recv_ordered(), [
            ["type", "offer"], ["room", "w1"], ["from", "alice"],
            ["sdp", SDP_A]])
        await bob.send({"type": "answer", "room": "w1", "from": "bob",
                        "sdp": SDP_B})
        self.assertEqual(await alice.recv_ordered(), [
            ["type", "answer"], ["room", "w1"], ["from", "bob"],
            ["sdp", SDP_B]])
        await bob.send({"type": "candidate", "room": "w1", "from": "bob",
                        "candidate": CAND_B})
        self.assertEqual(await alice.recv_ordered(), [
            ["type", "candidate"], ["room", "w1"], ["from", "bob"],
            ["candidate", CAND_B]])
        # Nothing was echoed to the senders
        await alice.expect_nothing(self)
        await bob.expect_nothing(self)
        # Every relay attempt is logged, never with its contents
        forwarded = self.server.wait_log("relay.forwarded", type="candidate")
        self.assertEqual(forwarded["room"], "w1")
        self.assertEqual(forwarded["from"], "bob")
        self.assertEqual(forwarded["size"],
                         len(json.dumps(CAND_B).encode()))
        for line in self.server.lines:
            self.assertNotIn("4451", line)
            self.assertNotIn("192.0.2.2", line)

    async def test_queued_offer_and_candidates_delivered_on_join(self):
        alice = await self.joined("w1", "alice")
        await alice.send({"type": "offer", "room": "w1", "from": "alice",
                          "sdp": SDP_A, "to": "x", "extra": 1})
        await alice.send({"type": "candidate", "room": "w1",
                          "from": "alice", "candidate": CAND_A})
        await alice.send({"type": "candidate", "room": "w1",
                          "from": "alice", "candidate": "candidate:9"})
        await alice.expect_nothing(self)
        self.assertEqual(len(self.server.wait_count("relay.queued", 3)), 3)
        # "to":"x" names someone else: it stays for x, the rest is bob's
        bob = await self.joined("w1", "bob")
        self.assertEqual(bob.pending, [
            {"type": "candidate", "room": "w1", "from": "alice",
             "candidate": CAND_A},
            {"type": "candidate", "room": "w1", "from": "alice",
             "candidate": "candidate:9"}])
        x = await self.joined("w1", "x")
        self.assertEqual(x.pending, [
            {"type": "offer", "room": "w1", "from": "alice", "sdp": SDP_A}])
        self.assertEqual(len(self.server.wait_count("relay.delivered", 3)), 3)
        # Delivered frames are gone
        carol = await self.joined("w1", "carol")
        self.assertEqual(carol.pending, [])

    async def test_queue_in_order_before_anything_else(self):
        alice = await self.joined("w1", "alice")
        await alice.send({"type": "offer", "room": "w1", "sdp": SDP_A})
        for i in range(10):
            await alice.send({"type": "candidate", "room": "w1",
                              "candidate": {"candidate": "c%d" % i}})
        await alice.barrier()
        bob = await self.client()
        await bob.send({"type": "join", "room": "w1", "user": "bob"})
        await alice.send({"type": "candidate", "room": "w1",
                          "candidate": {"candidate": "live"}})
        frames = [await bob.recv() for _ in range(12)]
        self.assertEqual(frames[0]["type"], "offer")
        self.assertEqual([f["candidate"]["candidate"] for f in frames[1:]],
                         ["c%d" % i for i in range(10)] + ["live"])

    async def test_leave_and_close_notify_nobody_and_drop_queued(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        await bob.send({"type": "leave", "room": "w1", "user": "bob",
                        "from": "bob"})
        await bob.send({"type": "offer", "room": "w1", "from": "bob",
                        "sdp": "x"})
        self.assertEqual(await bob.recv(), {
            "type": "error",
            "message": "Join a room before sending signaling messages.",
            "code": "not_joined"})
        await alice.expect_nothing(self)
        # Alone now: alice's candidate is queued, then alice departs and
        # the queued frame goes with her
        await alice.send({"type": "candidate", "room": "w1",
                          "from": "alice", "candidate": {"candidate": "c3"}})
        await alice.barrier()
        await alice.close()
        self.server.wait_log("relay.dropped", room="w1", reason="disconnect")
        carol = await self.joined("w1", "carol")
        self.assertEqual(carol.pending, [])

    async def test_leave_removes_only_the_sender(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        mallory = await self.joined("w2", "mallory")
        # Naming someone else's membership is refused and changes nothing
        await mallory.send({"type": "leave", "room": "w1", "user": "bob"})
        self.assertEqual((await mallory.recv())["code"], "not_joined")
        await alice.send({"type": "offer", "room": "w1", "sdp": "o"})
        self.assertEqual((await bob.recv())["sdp"], "o")
        # Leave when not joined is silent: an error would end a real call
        outsider = await self.client()
        await outsider.send({"type": "leave", "room": "w1", "user": "x"})
        await outsider.send({"type": "leave"})
        await outsider.expect_nothing(self)

    async def test_client_error_is_logged_not_answered(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        await alice.send({"type": "error", "message": "camera failed"})
        await alice.expect_nothing(self)
        await bob.expect_nothing(self)
        event = self.server.wait_log("client.error")
        self.assertEqual(event["message"], "camera failed")


class Membership(ServerTest):
    """room and from come from the membership; takeover; to; limits."""

    server_args = ("--room-max-members", "3")

    async def test_cross_room_spoofing_is_refused(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        mallory = await self.joined("w2", "mallory")
        await mallory.send({"type": "offer", "room": "w1", "from": "alice",
                            "sdp": "evil"})
        self.assertEqual(await mallory.recv(), {
            "type": "error",
            "message": "This connection has not joined that room.",
            "code": "not_joined"})
        await alice.expect_nothing(self)
        await bob.expect_nothing(self)
        # from is always the sender's own name
        await bob.send({"type": "offer", "room": "w1", "from": "alice",
                        "sdp": "s"})
        self.assertEqual(await alice.recv(), {
            "type": "offer", "room": "w1", "from": "bob", "sdp": "s"})

    async def test_takeover_by_a_reloaded_tab(self):
        old = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        await old.send({"type": "offer", "room": "w1", "sdp": "old"})
        self.assertEqual((await bob.recv())["sdp"], "old")
        new = await self.joined("w1", "alice")
        self.assertEqual(await old.recv(), {
            "type": "error",
            "message": "Another connection joined this room under your name.",
            "code": "replaced"})
        await old.send({"type": "offer", "room": "w1", "sdp": "stale"})
        self.assertEqual((await old.recv())["code"], "not_joined")
        await bob.send({"type": "answer", "room": "w1", "sdp": "a"})
        self.assertEqual(await new.recv(), {
            "type": "answer", "room": "w1", "from": "bob", "sdp": "a"})
        # The old tab closing does not unseat the new one
        await old.close()
        await bob.send({"type": "candidate", "room": "w1",
                        "candidate": "c"})
        self.assertEqual((await new.recv())["candidate"], "c")

    async def test_to_addresses_one_member(self):
        a = await self.joined("r", "a")
        b = await self.joined("r", "b")
        c = await self.joined("r", "c")
        await a.send({"type": "offer", "room": "r", "sdp": "all"})
        self.assertEqual((await b.recv())["sdp"], "all")
        self.assertEqual((await c.recv())["sdp"], "all")
        await a.send({"type": "offer", "room": "r", "sdp": "c only",
                      "to": "c"})
        self.assertEqual(await c.recv(), {
            "type": "offer", "room": "r", "from": "a", "sdp": "c only"})
        await b.expect_nothing(self)

    async def test_room_full(self):
        for name in ("a", "b", "c"):
            await self.joined("r", name)
        d = await self.client()
        await d.send({"type": "join", "room": "r", "user": "d"})
        self.assertEqual(await d.recv(), {
            "type": "error", "message": "The room is full.",
            "code": "room_full"})


class QueueBounds(ServerTest):
    server_args = ("--queue-max-frames", "3", "--queue-ttl", "400ms")

    async def test_overflow_drops_the_newest(self):
        alice = await self.joined("w1", "alice")
        for i in range(5):
            await alice.send({"type": "candidate", "room": "w1",
                              "candidate": "c%d" % i})
        await alice.barrier()
        dropped = self.server.wait_count("relay.dropped", 2)
        self.assertEqual(len(dropped), 2)
        self.assertEqual(dropped[0]["reason"], "room_queue_frames")
        bob = await self.joined("w1", "bob")
        self.assertEqual([f["candidate"] for f in bob.pending],
                         ["c0", "c1", "c2"])

    async def test_frames_expire(self):
        alice = await self.joined("w1", "alice")
        await alice.send({"type": "offer", "room": "w1", "sdp": "old"})
        expired = self.server.wait_log("relay.expired", room="w1")
        self.assertEqual(expired["type"], "offer")
        self.assertEqual(expired["from"], "alice")
        bob = await self.joined("w1", "bob")
        self.assertEqual(bob.pending, [])


class MalformedInput(ServerTest):
    server_args = ("--max-frame-size", "2KiB")

    CASES = [
        ("not json", "invalid_json"),
        ("", "invalid_json"),
        ("null", "invalid_json"),
        ("[]", "invalid_json"),
        ("[1,2]", "invalid_json"),
        ("5", "invalid_json"),
        ('"join"', "invalid_json"),
        ("true", "invalid_json"),
        ('{"type":"join"} x', "invalid_json"),
        ("{}", "missing_type"),
        ('{"type":5}', "missing_type"),
        ('{"type":null}', "missing_type"),
        ('{"type":"  "}', "missing_type"),
        ('{"type":"bogus"}', "unknown_type"),
        ('{"type":"JOIN","room":"r","user":"u"}', "unknown_type"),
        ('{"type":"join","room":"r"}', "invalid_field"),
        ('{"type":"join","room":"","user":"u"}', "invalid_field"),
        ('{"type":"join","room":5,"user":"u"}', "invalid_field"),
        ('{"type":"join","room":"r","user":{"n":1}}', "invalid_field"),
        ('{"type":"leave","room":7}', "invalid_field"),
        ('{"type":"offer","room":"r"}', "invalid_field"),
        ('{"type":"offer","room":"r","sdp":5}', "invalid_field"),
        ('{"type":"answer","room":"r","sdp":null}', "invalid_field"),
        ('{"type":"offer","room":"r","sdp":"x","to":1}', "invalid_field"),
        ('{"type":"offer","room":["r"],"sdp":"x"}', "invalid_field"),
        ('{"type":"candidate","room":"r","candidate":7}', "invalid_field"),
        ('{"type":"candidate","room":"r","candidate":{"i":01}}',
         "invalid_field"),
        ('{"type":"error"}', "invalid_field"),
    ]

    async def test_every_malformed_frame_gets_invalid_message(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        for text, code in self.CASES:
            with self.subTest(frame=text):
                await bob.send(text)
                self.assertEqual(await bob.recv_ordered(), [
                    ["type", "error"], ["message", "Invalid message"],
                    ["code", code]])
        # Binary frames are read alike; bad UTF-8 in one is malformed
        await bob.send(b"\xff\xfe{}")
        self.assertEqual(await bob.recv(), invalid("invalid_json"))
        await bob.send(json.dumps({"type": "offer", "room": "w1",
                                   "sdp": "bin"}).encode())
        self.assertEqual((await alice.recv())["sdp"], "bin")
        # The sender and everyone else are still served
        await alice.send({"type": "offer", "room": "w1", "sdp": "still"})
        self.assertEqual((await bob.recv())["sdp"], "still")
        self.assertEqual(len(self.server.wait_count(
            "signal.invalid", len(self.CASES) + 1)), len(self.CASES) + 1)

    async def test_oversized_frame_closes_with_1009_only_that_client(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        big = await self.joined("w1", "big")
        await big.send({"type": "offer", "room": "w1", "sdp": "x" * 4096})
        code, reason = await big.closed()
        self.assertEqual(code, 1009)
        self.assertEqual(reason, "frame_too_large")
        await alice.send({"type": "offer", "room": "w1", "sdp": "fine"})
        self.assertEqual((await bob.recv())["sdp"], "fine")
        # Under the cap, a message in many fragments is reassembled
        await alice.ws.send(iter(['{"type":"offer",', '"room":"w1",',
                                  '"sdp":"' + "y" * 1500 + '"}']))
        self.assertEqual((await bob.recv())["sdp"], "y" * 1500)

    async def test_invalid_utf8_text_closes_with_1007(self):
        sock = await raw_connect(self.server.port, "/signal")
        # A masked text frame with bytes that are not UTF-8
        sock.sendall(ws_frame(0x1, b"\xc3\x28"))
        opcode, payload = read_frame(sock)
        self.assertEqual(opcode, 0x8)
        self.assertEqual(int.from_bytes(payload[:2], "big"), 1007)
        sock.close()
        bob = await self.joined("w2", "bob")
        self.assertEqual(bob.pending, [])


class RateLimit(ServerTest):
    server_args = ("--rate-limit", "5", "--rate-burst", "5")

    async def test_flood_is_refused_then_cut_off(self):
        alice = await self.joined("w1", "alice")
        # One write: the server sees the whole flood before it answers
        await alice.ws.ensure_open()
        alice.ws.transport.write(b"".join(
            ws_frame(0x1, json.dumps({"type": "candidate", "room": "w1",
                                      "candidate": "c%d" % i}).encode())
            for i in range(12)))
        errors = []
        code = None
        try:
            while True:
                errors.append(await alice.recv())
        except Exception:
            code = alice.ws.close_code
        self.assertIn({"type": "error",
                       "message": "Too many messages; this one was dropped.",
                       "code": "rate_limited"}, errors)
        self.assertEqual(code, 1008)
        # join and the barrier took two of the five tokens
        self.assertEqual(len(self.server.wait_count("relay.queued", 3)), 3)


class CapsTest(ServerTest):
    """Helpers for the connection caps: a refused handshake, a client that
    comes through a proxy."""

    async def refused(self, status, **kwargs):
        with self.assertRaises(websockets.InvalidStatusCode) as caught:
            await self.client(**kwargs)
        self.assertEqual(caught.exception.status_code, status)

    def via_proxy(self, chain):
        return {"extra_headers": {"X-Forwarded-For": chain}}


class ConnectionCaps(CapsTest):
    """MAX_CONNECTIONS_PER_IP and MAX_CONNECTIONS; clients behind a trusted
    proxy (loopback, by default) counted by the address it forwards."""

    server_args = ("--max-connections-per-ip", "2", "--max-connections", "4")

    async def test_one_address_cannot_take_every_connection(self):
        alice = await self.joined("c1", "alice")
        bob = await self.joined("c1", "bob")
        await self.refused(429)
        refused = self.server.wait_log("conn.refused")
        self.assertEqual((refused["reason"], refused["count"],
                          refused["peer"], refused["via"]),
                         ("max_connections_per_ip", 1, "127.0.0.1", ""))
        # Others behind the proxy still get in, each counted as itself; a
        # forged left part of the chain is never believed
        carol = await self.client(**self.via_proxy("198.51.100.7"))
        dave = await self.client(**self.via_proxy("6.6.6.6, 198.51.100.8"))
        opened = self.server.wait_count("conn.open", 4)
        self.assertEqual([(o["peer"], o["via"]) for o in opened[2:]],
                         [("198.51.100.7", "127.0.0.1"),
                          ("198.51.100.8", "127.0.0.1")])
        # The server is full now, whoever asks
        await self.refused(503, **self.via_proxy("198.51.100.9"))
        self.assertEqual(self.server.wait_count("conn.refused", 2)[1]
                         ["reason"], "max_connections")
        # Nobody admitted lost anything
        await alice.send({"type": "offer", "room": "c1", "sdp": SDP_A})
        self.assertEqual((await bob.recv())["sdp"], SDP_A)
        for client, user in ((carol, "carol"), (dave, "dave")):
            await client.send({"type": "join", "room": "c2", "user": user})
            await client.barrier()
        await carol.send({"type": "offer", "room": "c2", "sdp": SDP_B})
        self.assertEqual((await dave.recv())["sdp"], SDP_B)
        # A closed connection frees its address's place
        await bob.ws.close()
        self.server.wait_log("conn.close")
        await self.client()

    async def test_a_flood_of_refusals_is_counted_not_logged_each(self):
        for _ in range(2):
            await self.client()
        start = time.monotonic()
        for _ in range(30):
            await self.refused(429)
        flood = time.monotonic() - start
        await asyncio.sleep(1.1)
        await self.refused(429)     # after a second: the held-back count

        def per_ip():
            return [r for r in self.server.find("conn.refused")
                    if r["reason"] == "max_connections_per_ip"]
        # The last refusal is always logged: over a second after the one
        # before, whichever that was
        for _ in range(50):
            if sum(r["count"] for r in per_ip()) == 31:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(sum(r["count"] for r in per_ip()), 31, per_ip())
        # The first refusal is a record, then one a second while the flood
        # lasts (none more on a fast machine), then the one after the pause
        self.assertLessEqual(len(per_ip()), 2 + math.ceil(flood), per_ip())
        self.assertEqual(per_ip()[0]["count"], 1)


class UntrustedProxy(CapsTest):
    server_args = ("--trusted-proxies", "", "--max-connections-per-ip", "1")

    async def test_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        await self.client(**self.via_proxy("198.51.100.7"))
        opened = self.server.wait_log("conn.open")
        self.assertEqual((opened["peer"], opened["via"]), ("127.0.0.1", ""))
        # Another made-up address does not buy another place
        await self.refused(429, **self.via_proxy("198.51.100.8"))


class Transport(ServerTest):
    server_args = ("--ping-interval", "1s", "--ping-timeout", "1s")

    async def test_query_string_is_ignored_on_signal(self):
        alice = await self.client("/signal?x=1")
        await alice.send({"type": "join", "room": "q", "user": "alice"})
        bob = await self.joined("q", "bob")
        await alice.send({"type": "offer", "room": "q", "sdp": "q"})
        self.assertEqual((await bob.recv())["from"], "alice")
        event = self.server.wait_log("conn.open")
        self.assertEqual(event["dialect"], "signal")
        self.assertEqual(event["path"], "/signal")

    async def test_server_pings_and_closes_silent_peers(self):
        sock = await raw_connect(self.server.port, "/signal")
        opcode, payload = read_frame(sock, timeout=4)
        self.assertEqual(opcode, 0x9)          # ping
        self.assertTrue(payload)               # or its pong would be hidden
        # We never answer: the server hangs up within interval + timeout
        closed = False
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
            closed = True               # orderly end of stream
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        self.assertTrue(closed, "silent peer not disconnected")
        timeout = self.server.wait_log("conn.timeout")
        self.assertGreaterEqual(timeout["idle_ms"], 2000)
        self.server.wait_log("conn.close")
        # A peer that answers pings stays (websockets answers them)
        alive = await self.joined("p", "alive")
        await asyncio.sleep(3)
        self.assertEqual(await alive.barrier(), [])

    async def test_plain_http_gets_426_and_health_check(self):
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       self.server.port)
        writer.write(b"GET /signal HTTP/1.1\r\nHost: x\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), TIMEOUT)
        self.assertIn(b" 426 ", status)
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       self.server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), TIMEOUT)
        self.assertIn(b" 200 ", status)
        writer.close()


class Metrics(ServerTest):
    # WELCOME, which carries rooms' numbers, every 100 ms
    server_args = ("--link-heartbeat", "100ms")

    async def test_metrics_show_connections_rooms_and_calls(self):
        alice = await self.joined("m1", "alice")
        await self.joined("m1", "bob")
        carol = await self.joined("m2", "carol")
        await carol.send({"type": "offer", "room": "m2", "sdp": SDP_A})
        p2p = await self.client("/")
        await p2p.send({"route": "ADD_USER", "userId": "u1"})
        await p2p.barrier()
        samples = await self.metrics(**{
            'homecall_connections{dialect="signal"}': 3,
            'homecall_connections{dialect="p2p"}': 1,
            "homecall_signal_rooms": 2, "homecall_signal_members": 3,
            "homecall_signal_queued_frames": 1,
            # as QUEUE_MAX_BYTES counts: the SDP's JSON text and the name
            "homecall_signal_queued_bytes": len(json.dumps(SDP_A)) + 5,
            "homecall_p2p_users": 1, "homecall_rooms_up": 1})
        self.assertGreaterEqual(samples["homecall_frames_in_total"], 9)
        self.assertEqual(samples[
            'homecall_connections_refused_total{reason="max_connections"}'],
            0)
        # Gone again: the numbers follow
        await alice.ws.close()
        await carol.ws.close()
        await self.metrics(**{
            'homecall_connections{dialect="signal"}': 1,
            "homecall_signal_rooms": 1, "homecall_signal_members": 1,
            "homecall_signal_queued_frames": 0})

    async def test_metrics_are_for_allowed_clients_only(self):
        # Through the proxy on loopback, for a client on the internet
        status, _ = await asyncio.to_thread(
            scrape_metrics, self.server, **{"X-Forwarded-For": "198.51.100.7"})
        self.assertEqual(status, 403)


class MetricsOff(ServerTest):
    server_args = ("--metrics-allow", "")

    async def test_no_metrics_when_nobody_is_allowed(self):
        status, _ = await asyncio.to_thread(scrape_metrics, self.server)
        self.assertEqual(status, 404)


class Shutdown(unittest.IsolatedAsyncioTestCase):
    async def test_sigterm_closes_clients_with_1001_and_exits_0(self):
        server = Server()
        alice = await Client.connect(server)
        await alice.send({"type": "join", "room": "w1", "user": "alice"})
        await alice.barrier()
        bob = await Client.connect(server, "/signal")
        server.proc.send_signal(signal.SIGTERM)
        code_a, reason_a = await alice.closed()
        code_b, _ = await bob.closed()
        self.assertEqual((code_a, code_b), (1001, 1001))
        self.assertEqual(reason_a, "server shutting down")
        self.assertEqual(server.stop(), 0)

    async def test_sigint_also_stops(self):
        server = Server()
        self.assertEqual(server.stop(signal.SIGINT), 0)


class Configuration(unittest.TestCase):
    def run_binary(self, *args, env=None):
        import subprocess
        from harness import BINARY
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([BINARY, *args], capture_output=True,
                              text=True, env=full_env, timeout=20)

    def test_help_lists_every_option_with_env_and_default(self):
        result = self.run_binary("--help")
        self.assertEqual(result.returncode, 0)
        for needle in ("--ws-port", "WS_PORT", "5555", "--ws-host",
                       "WS_HOST", "0.0.0.0", "MAX_FRAME_SIZE", "64KiB",
                       "QUEUE_TTL", "120s", "PING_INTERVAL", "LOG_LEVEL"):
            self.assertIn(needle, result.stdout)

    def test_bad_values_exit_2_with_a_message(self):
        for args, env, needle in [
                ((), {"WS_PORT": "8888abc"}, "WS_PORT"),
                (("--ws-port", "70000"), {}, "out of range"),
                (("--queue-ttl", "soon"), {}, "QUEUE_TTL"),
                (("--log-level", "loud"), {}, "LOG_LEVEL"),
                ((), {"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES"),
                (("--frobnicate", "1"), {}, "--frobnicate")]:
            with self.subTest(args=args, env=env):
                result = self.run_binary(*args, env=env)
                self.assertEqual(result.returncode, 2)
                self.assertIn(needle, result.stderr)

    def test_dotenv_then_env_then_flags(self):
        import tempfile
        with tempfile.TemporaryDirectory() as cwd:
            with open(os.path.join(cwd, ".env"), "w") as f:
                f.write("WS_PORT=0\nQUEUE_TTL=77s\n")
            server = Server(cwd=cwd)   # flags give --ws-port 0 anyway
            try:
                self.assertGreater(server.port, 0)
            finally:
                self.assertEqual(server.stop(), 0)

    def test_port_in_use_fails_to_start(self):
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = self.run_binary("--ws-host", "127.0.0.1", "--ws-port",
                                 str(port), "--log-format", "json")
        holder.close()
        self.assertEqual(result.returncode, 1)
        self.assertIn("gateway.listen_failed", result.stderr)


# --- a raw WebSocket client, for what the websockets library hides -----

async def raw_connect(port, path):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % path).encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError("handshake failed")
        response += chunk
    assert b" 101 " in response.split(b"\r\n")[0], response
    return sock


def ws_frame(opcode, payload):
    mask = b"\x01\x02\x03\x04"
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError("connection closed")
        data += chunk
    return data


def read_frame(sock, timeout=TIMEOUT):
    sock.settimeout(timeout)
    first, second = read_exact(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(read_exact(sock, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exact(sock, 8), "big")
    return first & 0x0F, read_exact(sock, length)


if __name__ == "__main__":
    unittest.main(verbosity=2)
