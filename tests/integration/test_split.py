#!/usr/bin/python3
"""A split deployment on loopback: rooms + notifier (and the event bus) in
one process, two gateways in two more. Calls across gateways, what an
observer sees, a gateway killed, rooms restarted, CURVE keys that are and
are not allowed, and garbage sent to the tcp endpoints."""

import asyncio
import json
import os
import re
import socket
import subprocess
import struct
import sys
import time
import unittest

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TIMEOUT, Client, wait_metrics  # noqa: E402
from split import (FAST_LINK, GatewayProcess, Keys, RoomsProcess,  # noqa: E402
                   Tap, joined, stalled_observer, until_tap_finds,
                   until_tap_sees,
                   zmq_context)
from test_signal import CAND_A as CAND, SDP_A, SDP_B  # noqa: E402



def mp_str(text):
    data = text.encode()
    assert len(data) < 32
    return bytes([0xa0 | len(data)]) + data


def mp_map(pairs):
    """A msgpack map of short string keys to strings, uints or raw bytes
    (what the codec calls binary): enough to forge commands."""
    out = bytes([0x80 | len(pairs)])
    for key, value in pairs:
        out += mp_str(key)
        if isinstance(value, int):
            out += b"\xcf" + struct.pack(">Q", value)
        elif isinstance(value, bytes):
            out += b"\xc4" + bytes([len(value)]) + value
        else:
            out += mp_str(value)
    return out


def endpoint_port(endpoint):
    host, port = re.match(r"tcp://([^:]+):(\d+)$", endpoint).groups()
    return host, int(port)


async def healthz(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), TIMEOUT)
    writer.close()
    return int(status.split()[1])


# link.refused reasons, as rooms' log words them
NOT_ALLOWED = "CURVE key not allowed"
MISMATCH = "security mechanism mismatch (CURVE on one side only)"
BROKEN_OFF = ("handshake broken off (bytes that are not ZMTP, or the peer "
              "left)")


def wait_refused(test, rooms, socket_name, *whys):
    """Waits for a link.refused record of that socket with one of whys.
    Which one can be a race: when both sides see a bad greeting, the one
    that hangs up first leaves the other with a handshake broken off."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if any(r["why"] in whys
               for r in rooms.find("link.refused", socket=socket_name)):
            return
        time.sleep(0.05)
    test.fail("no link.refused on %s with %s; got %s" % (
        socket_name, whys, rooms.find("link.refused")))


class SplitTest(unittest.IsolatedAsyncioTestCase):
    """rooms + notifier in one process, two gateways in two more."""

    gateway_args = ()
    rooms_args = ()

    def setUp(self):
        self.processes = []
        self.killed = set()
        self.clients = []
        self.rooms = self.start(RoomsProcess(*FAST_LINK, *self.rooms_args))
        self.gw = [self.start(GatewayProcess(self.rooms, *FAST_LINK,
                                             *self.gateway_args))
                   for _ in range(2)]

    def start(self, process):
        self.processes.append(process)
        return process

    def kill(self, process):
        process.proc.kill()
        process.proc.wait()
        self.killed.add(process)

    async def asyncTearDown(self):
        for client in self.clients:
            await client.ws.close()

    def tearDown(self):
        # Gateways first, as an operator would
        for process in sorted(self.processes,
                              key=lambda p: isinstance(p, RoomsProcess)):
            code = process.stop()
            if process not in self.killed:
                self.assertEqual(code, 0, "exit code of " + " ".join(
                    process.args[5:8]))
                self.assertEqual([e for e in process.events()
                                  if e.get("level") == "error"], [])

    async def join(self, gateway, room, user):
        return await joined(gateway, room, user, self.clients)

    async def p2p_user(self, gateway, user_id, **fields):
        """A p2p client of gateway, registered (processed on return)."""
        c = await Client.connect(gateway, "/")
        self.clients.append(c)
        self.assertEqual(await c.recv(), {"type": "userConnect"})
        await c.send(dict({"route": "ADD_USER", "userId": user_id}, **fields))
        self.assertEqual(await c.barrier(), [])
        return c

    async def p2p_call(self, caller, callee, caller_id, callee_id):
        """caller calls callee, who answers: both are in the call."""
        await caller.send({"route": "OFFER", "userId": caller_id,
                           "candidates": callee_id, "sdp": SDP_A})
        self.assertEqual((await callee.recv())["type"], "call")
        self.assertEqual((await callee.recv())["type"], "remoteStreamsId")
        await callee.send({"route": "ANSWER", "userId": callee_id,
                           "answer": {"sdp": SDP_B}})
        self.assertEqual([(await caller.recv())["type"] for _ in range(3)],
                         ["remoteStreamsId", "acceptCall", "connect"])
        self.assertEqual(await callee.recv(), {"type": "connect"})


class CallAcrossGateways(SplitTest):
    async def test_signal_call_between_clients_of_two_gateways(self):
        alice = await self.join(self.gw[0], "w1", "alice")
        bob = await self.join(self.gw[1], "w1", "bob")
        await alice.send({"type": "offer", "room": "w1", "sdp": SDP_A})
        self.assertEqual(await bob.recv_ordered(), [
            ["type", "offer"], ["room", "w1"], ["from", "alice"],
            ["sdp", SDP_A]])
        await bob.send({"type": "answer", "room": "w1", "sdp": SDP_B})
        self.assertEqual(await alice.recv(), {
            "type": "answer", "room": "w1", "from": "bob", "sdp": SDP_B})
        await bob.send({"type": "candidate", "room": "w1",
                        "candidate": CAND})
        self.assertEqual((await alice.recv())["candidate"], CAND)
        await alice.send({"type": "candidate", "room": "w1",
                          "candidate": "c"})
        self.assertEqual((await bob.recv())["candidate"], "c")
        await alice.expect_nothing(self)
        await bob.expect_nothing(self)
        # Each gateway's /metrics: its own connection, the one rooms' room
        for gw in self.gw:
            await wait_metrics(self, gw, {
                'homecall_connections{dialect="signal"}': 1,
                "homecall_signal_rooms": 1, "homecall_signal_members": 2,
                "homecall_rooms_up": 1})

    async def test_queued_offer_waits_for_a_client_of_the_other_gateway(self):
        alice = await self.join(self.gw[0], "q1", "alice")
        await alice.send({"type": "offer", "room": "q1", "sdp": SDP_A})
        await alice.barrier()
        bob = await self.join(self.gw[1], "q1", "bob")
        self.assertEqual(bob.pending, [{"type": "offer", "room": "q1",
                                        "from": "alice", "sdp": SDP_A}])

    async def test_p2p_call_between_clients_of_two_gateways(self):
        alice = await self.p2p_user(self.gw[0], "alice", name="Alice")
        bob = await self.p2p_user(self.gw[1], "bob", name="Bob",
                                  device="ios")
        await alice.send({"route": "OFFER", "userId": "alice",
                          "candidates": ["bob"],
                          "offer": {"type": "offer", "sdp": SDP_A}})
        self.assertEqual(await bob.recv(), {
            "type": "call", "offer": {"type": "offer", "sdp": SDP_A},
            "userId": "alice", "name": "Alice", "photo": "",
            "candidates": "alice", "device": "mobile"})
        self.assertEqual(await bob.recv(),
                         {"type": "remoteStreamsId", "streamIds": {}})
        await bob.send({"route": "ANSWER", "userId": "bob",
                        "answer": {"type": "answer", "sdp": SDP_B}})
        self.assertEqual(await alice.recv(),
                         {"type": "remoteStreamsId", "streamIds": {}})
        self.assertEqual(await alice.recv(), {
            "type": "acceptCall", "answer": {"type": "answer", "sdp": SDP_B},
            "device": "ios"})
        self.assertEqual(await bob.recv(), {"type": "connect"})
        self.assertEqual(await alice.recv(), {"type": "connect"})
        await alice.send({"route": "ADD_ICE", "userId": "alice",
                          "iceParams": [CAND]})
        await bob.send({"route": "ADD_ICE", "userId": "bob",
                        "iceParams": ["b"]})
        await alice.barrier()
        await bob.barrier()
        await alice.send({"route": "SWAP_ICE", "userId": "alice"})
        self.assertEqual(await alice.recv(),
                         {"type": "swapIce", "iceCandidates": ["b"]})
        self.assertEqual(await bob.recv(),
                         {"type": "swapIce", "iceCandidates": [CAND]})
        await bob.send({"route": "DECLINE", "userId": "bob"})
        self.assertEqual(await alice.recv(),
                         {"type": "decline", "name": "Bob"})
        self.assertEqual(await bob.recv(), {"type": "cancel"})
        await alice.send({"route": "DECLINE", "userId": "alice"})
        self.assertEqual(await bob.recv(), {"type": "cancel"})
        self.assertEqual(await alice.barrier(), [])

    async def test_connection_ids_are_unique_across_gateways(self):
        for gateway in self.gw:
            for _ in range(3):
                await self.join(gateway, "ids", "u%d" % len(self.clients))
        self.assertNotEqual(self.gw[0].instance, self.gw[1].instance)
        conns = []
        for gateway in self.gw:
            for event in gateway.wait_count("conn.open", 3):
                self.assertTrue(event["conn"].startswith(gateway.instance))
                self.assertEqual(event["gateway"], gateway.instance)
                conns.append(event["conn"])
        self.assertEqual(len(set(conns)), 6)
        # The central log has every process's records
        for gateway in self.gw:
            self.rooms.wait_log("conn.open", gateway=gateway.instance)
            self.rooms.wait_log("gateway.up", gateway=gateway.instance)


class Observers(SplitTest):
    async def test_tap_prints_each_kind_of_event_with_its_fields(self):
        tap = Tap(self.rooms.observer, "conn.", "room.", "relay.", "error.",
                  "gateway.")
        only = Tap(self.rooms.observer, "relay.forwarded")
        try:
            await until_tap_sees(tap, self.gw)
            # The filtered tap is ready once it sees a forward of a probe
            probe = [await self.join(self.gw[0], "probe", "p%d" % i)
                     for i in range(2)]
            async def offer():
                await probe[0].send({"type": "offer", "room": "probe",
                                     "sdp": "p"})
                await probe[1].recv()
            await until_tap_finds(only, offer, "relay.forwarded",
                                  room="probe")
            alice = await self.join(self.gw[0], "t1", "alice")
            await alice.send({"type": "offer", "room": "t1", "sdp": SDP_A})
            await alice.send("not json")
            self.assertEqual((await alice.recv())["code"], "invalid_json")
            bob = await self.join(self.gw[1], "t1", "bob")
            self.assertEqual(len(bob.pending), 1)
            await bob.send({"type": "answer", "room": "t1", "sdp": SDP_B})
            await alice.recv()
            await bob.close()

            gw1 = self.gw[1].instance
            opened = tap.wait("conn.open", gateway=gw1, dialect="signal",
                              count=2)[-1]
            self.assertTrue(opened["conn"].startswith(gw1))
            self.assertEqual(opened["path"], "/signal")
            self.assertIn("127.0.0.1", opened["peer"])
            self.assertEqual(opened["actor"], "gateway")
            joins = tap.wait("room.join", room="t1", count=2)
            self.assertEqual([j["user"] for j in joins], ["alice", "bob"])
            queued = tap.wait("relay.queued", room="t1")[0]
            self.assertEqual((queued["type"], queued["from"], queued["size"]),
                             ("offer", "alice", len(json.dumps(SDP_A))))
            tap.wait("relay.delivered", room="t1", type="offer")
            forwarded = tap.wait("relay.forwarded", room="t1")[0]
            self.assertEqual((forwarded["type"], forwarded["from"]),
                             ("answer", "bob"))
            error = tap.wait("error.signal.invalid")[0]
            self.assertEqual(error["code"], "invalid_json")
            self.assertEqual(error["level"], "info")
            closed = tap.wait("conn.close", gateway=gw1)[-1]
            self.assertEqual(closed["dialect"], "signal")
            tap.wait("room.leave", room="t1", user="bob", reason="disconnect")
            # Only what was asked for: no log records, nothing else
            self.assertEqual({e["topic"].split(".")[0] for e in tap.events},
                             {"conn", "room", "relay", "error"})
            only.wait("relay.forwarded", room="t1")
            self.assertEqual({e["topic"] for e in only.events},
                             {"relay.forwarded"})
            self.assertEqual(tap.errors + only.errors, [])
        finally:
            tap.stop()
            only.stop()

    async def test_tap_sees_p2p_calls(self):
        tap = Tap(self.rooms.observer, "call.", "p2p.", "error.p2p.")
        try:
            # Ready once a probe's error comes through
            probe = await self.p2p_user(self.gw[0], "probe")
            async def decline():
                await probe.send({"route": "DECLINE", "userId": "nobody"})
                await probe.recv()
            await until_tap_finds(tap, decline, "error.p2p.error",
                                  handler="DECLINE")
            alice = await self.p2p_user(self.gw[0], "alice")
            bob = await self.p2p_user(self.gw[1], "bob")
            await self.p2p_call(alice, bob, "alice", "bob")
            self.assertEqual(
                [(e["from"], e["to"]) for e in tap.wait("call.status",
                                                        count=2)],
                [("idle", "calling"), ("idle", "ringing")])
            call = tap.wait("p2p.call", to="bob")[0]
            self.assertEqual((call["from"], call["result"]),
                             ("alice", "ringing"))
            tap.wait("p2p.answer", to="alice")
            self.assertEqual(tap.wait("p2p.register", user="bob")[0]["actor"],
                             "rooms")
            self.assertEqual(tap.errors, [])
        finally:
            tap.stop()

    async def test_a_stalled_observer_slows_nothing(self):
        # A subscriber that asks for everything and never reads
        stalled = stalled_observer(self, self.rooms.observer)
        try:
            alice = await self.join(self.gw[0], "s1", "alice")
            bob = await self.join(self.gw[1], "s1", "bob")
            started = time.monotonic()
            for i in range(150):        # within the rate limit's burst
                await alice.send({"type": "candidate", "room": "s1",
                                  "candidate": {"candidate": "c%d" % i,
                                                "pad": "x" * 1000}})
            for i in range(150):
                frame = await bob.recv()
                self.assertEqual(frame["candidate"]["candidate"], "c%d" % i)
            self.assertLess(time.monotonic() - started, TIMEOUT)
        finally:
            stalled.close(linger=0)


class TapStop(SplitTest):
    gateway_args = ("--rate-limit", "0")

    async def test_the_tap_stops_at_once_while_events_pour_in(self):
        alice = await self.join(self.gw[0], "t1", "alice")
        bob = await self.join(self.gw[1], "t1", "bob")

        async def flood():
            while True:
                await alice.send({"type": "candidate", "room": "t1",
                                  "candidate": "c"})
                await bob.recv()
        flooding = asyncio.ensure_future(flood())
        try:
            for attempt in range(8):
                tap = Tap(self.rooms.observer)
                await asyncio.to_thread(tap.wait, "relay.forwarded")
                tap.proc.terminate()
                try:
                    code = await asyncio.to_thread(tap.proc.wait, 3)
                except subprocess.TimeoutExpired:
                    tap.proc.kill()
                    self.fail("the tap did not stop on SIGTERM (attempt %d)"
                              % (attempt + 1))
                finally:
                    tap.stop()
                self.assertEqual(code, 0)
        finally:
            flooding.cancel()


class GatewayDeath(SplitTest):
    async def test_killed_gateway_closes_its_connections_in_rooms(self):
        alice = await self.join(self.gw[0], "k1", "alice")
        await alice.send({"type": "offer", "room": "k1", "sdp": SDP_A})
        await alice.barrier()
        carol = await self.join(self.gw[1], "k2", "carol")
        dave = await self.join(self.gw[1], "k2", "dave")
        killed_at = time.monotonic()
        self.kill(self.gw[0])
        down = self.rooms.wait_log("gateway.down",
                                   gateway=self.gw[0].instance)
        noticed = time.monotonic() - killed_at
        self.assertEqual((down["reason"], down["connections"]),
                         ("timeout", 1))
        # LINK_TIMEOUT is 1.5 s here; a heartbeat and scheduling on top
        self.assertLess(noticed, 3.0)
        print("\n    gateway death noticed after %.0f ms" % (noticed * 1000),
              file=sys.stderr)
        # Exactly what a close does in /signal: the membership ends and
        # the sender's queued offer goes with it
        self.rooms.wait_log("conn.close", gateway=self.gw[0].instance,
                            reason="timeout")
        self.rooms.wait_log("room.leave", room="k1", user="alice",
                            reason="disconnect")
        self.rooms.wait_log("relay.dropped", room="k1", reason="disconnect")
        bob = await self.join(self.gw[1], "k1", "bob")
        self.assertEqual(bob.pending, [])
        # The name is free again: no takeover for the next alice
        await self.join(self.gw[1], "k1", "alice")
        self.assertEqual(self.rooms.find("room.replaced"), [])
        # The other gateway's clients carry on
        await carol.send({"type": "offer", "room": "k2", "sdp": "x"})
        self.assertEqual((await dave.recv())["sdp"], "x")


class P2PGatewayDeath(SplitTest):
    """What a close means in the p2p dialect, when a gateway dies: the call
    waits for RECONNECT (through the other gateway), or ends with decline
    for the partner."""

    rooms_args = ("--p2p-reconnect-grace", "3s")

    async def test_reconnect_through_the_other_gateway(self):
        alice = await self.p2p_user(self.gw[0], "alice", name="Alice")
        bob = await self.p2p_user(self.gw[1], "bob", name="Bob")
        await self.p2p_call(alice, bob, "alice", "bob")
        self.kill(self.gw[1])
        self.rooms.wait_log("p2p.grace", user="bob")
        again = await Client.connect(self.gw[0], "/")
        self.clients.append(again)
        self.assertEqual(await again.recv(), {"type": "userConnect"})
        await again.send({"route": "RECONNECT", "userId": "bob"})
        self.assertEqual(await again.recv(), {
            "type": "reconnectSuccess", "status": "ringing",
            "candidate": "alice",
            "message": "Session restored successfully"})
        self.assertEqual(await alice.recv(), {
            "type": "peerReconnected", "userId": "bob", "name": "Bob",
            "status": "ringing"})
        await alice.send({"route": "UPDATE_OFFER", "userId": "alice",
                          "sdp": "o2"})
        self.assertEqual(await again.recv(),
                         {"type": "updateOffer", "sdp": "o2"})

    async def test_the_partner_hears_decline_when_nobody_comes_back(self):
        alice = await self.p2p_user(self.gw[0], "alice", name="Alice")
        bob = await self.p2p_user(self.gw[1], "bob", name="Bob")
        await self.p2p_call(alice, bob, "alice", "bob")
        self.kill(self.gw[1])
        self.rooms.wait_log("gateway.down", gateway=self.gw[1].instance)
        self.assertEqual(await alice.recv(timeout=10),
                         {"type": "decline", "name": "Bob"})
        self.rooms.wait_log("p2p.grace_expired", user="bob")


class RoomsRestart(SplitTest):
    async def test_gateways_relink_and_reconnecting_clients_call_again(self):
        alice = await self.join(self.gw[0], "r1", "alice")
        bob = await self.join(self.gw[1], "r1", "bob")
        self.kill(self.rooms)
        # Rooms forgot them: each client is closed so that it reconnects
        for client in (alice, bob):
            code, reason = await client.closed()
            self.assertEqual((code, reason), (1012, "rooms_unavailable"),
                             "\n".join(self.gw[0].lines[-25:]
                                       + self.rooms.lines[-25:]))
        for gateway in self.gw:
            gateway.wait_log("rooms.lost")
            # Until rooms is back, clients are refused and health says so
            self.assertEqual(await healthz(gateway), 503)
            with self.assertRaises(Exception):
                await Client.connect(gateway)
            gateway.wait_log("conn.refused", reason="rooms_unavailable")
        self.rooms = self.start(self.rooms.restart())
        for gateway in self.gw:
            self.assertEqual(len(gateway.wait_count("rooms.linked", 2)), 2)
            self.assertEqual(await healthz(gateway), 200)
        alice = await self.join(self.gw[0], "r1", "alice")
        bob = await self.join(self.gw[1], "r1", "bob")
        await alice.send({"type": "offer", "room": "r1", "sdp": SDP_A})
        self.assertEqual((await bob.recv())["sdp"], SDP_A)
        await bob.send({"type": "answer", "room": "r1", "sdp": SDP_B})
        self.assertEqual((await alice.recv())["sdp"], SDP_B)


class Garbage(SplitTest):
    async def test_garbage_to_rooms_and_bus_is_dropped_while_calls_go_on(self):
        alice = await self.join(self.gw[0], "g1", "alice")
        bob = await self.join(self.gw[1], "g1", "bob")
        gw0_conn = int(self.gw[0].wait_log("conn.open")["conn"], 16)
        # Bytes that are not ZMTP at all, to rooms and to the bus
        for endpoint in (self.rooms.rooms_endpoint, self.rooms.events_in):
            raw = socket.create_connection(endpoint_port(endpoint))
            raw.sendall(os.urandom(2048))
            raw.close()
        # A ZMTP 3.0 greeting that asks for a mechanism nobody has: refused
        # at the handshake (held open until then, so that the server is the
        # one to hang up)
        greeting = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00"
                    + b"BOGUS".ljust(20, b"\x00") + b"\x00" * 32)
        bogus_peers = []
        for endpoint in (self.rooms.rooms_endpoint, self.rooms.events_in):
            raw = socket.create_connection(endpoint_port(endpoint))
            self.addCleanup(raw.close)
            raw.sendall(greeting)
            bogus_peers.append(raw)
        # Well-formed ZMTP from a peer that makes itself up as a gateway
        ctx = zmq_context(self)
        fake = ctx.socket(zmq.DEALER)
        fake.setsockopt(zmq.ROUTING_ID, b"gw-0badc0de")
        fake.connect(self.rooms.rooms_endpoint)
        other = ctx.socket(zmq.DEALER)
        other.setsockopt(zmq.ROUTING_ID, b"not a gateway")
        other.connect(self.rooms.rooms_endpoint)
        bogus = [
            [b"SIG"],                                   # one part
            [b"SIG", b"\xc1"],                          # not msgpack
            [b"SIG", mp_map([("c", 1)]) + b"\x00"],     # bytes after it
            [b"NOPE", mp_map([("c", 1)])],              # unknown verb
            [b"OUT", mp_map([("c", 1)])],               # rooms' own verb
            [b"CLOSE", mp_map([("c", gw0_conn)])],      # not its connection
            [b"SIG", mp_map([("c", gw0_conn), ("o", 1)])],
            [b"SIG", mp_map([("c", 0x0badc0de00000001), ("o", 0),
                             ("r", "g1"), ("u", "mallory")])],   # not open
            [b"HELLO", mp_map([("g", 7)])],             # someone else's name
            [b"SIG", mp_map([("c", 1), ("o", 99)])],    # no such operation
            [b"A", b"B", b"C"],
        ]
        for parts in bogus:
            fake.send_multipart(parts)
        other.send_multipart([b"HELLO", mp_map([("g", 1)])])
        # Bad records to the bus, from a publisher that passes the handshake
        pub = ctx.socket(zmq.XPUB)
        pub.connect(self.rooms.events_in)
        pub.recv()                                  # the bus subscribed
        pub.send_multipart([b"log.info", b"\xc1"])
        pub.send_multipart([b"log.info"])
        for why in ("wrong number of parts", "not msgpack",
                    "bytes after the body", "unknown verb",
                    "connection of another gateway", "connection not open",
                    "another gateway's name", "not a gateway",
                    "enumeration out of range"):
            self.rooms.wait_log("bus.malformed", actor="rooms", why=why)
        self.rooms.wait_log("bus.malformed", actor="bus")
        # The bogus mechanism: refused at the handshake, and logged
        for socket_name in ("rooms", "events-in"):
            self.rooms.wait_log("link.refused", socket=socket_name,
                                why=MISMATCH)
        for sock in (fake, other, pub):
            sock.close(linger=0)
        # Nothing of it reached the clients; the call goes on
        await alice.send({"type": "offer", "room": "g1", "sdp": SDP_A})
        self.assertEqual(await bob.recv(), {"type": "offer", "room": "g1",
                                            "from": "alice", "sdp": SDP_A})
        await bob.send({"type": "answer", "room": "g1", "sdp": SDP_B})
        self.assertEqual((await alice.recv())["sdp"], SDP_B)
        await alice.expect_nothing(self)
        self.assertEqual(self.rooms.find("room.join", user="mallory"), [])


class Settings(unittest.TestCase):
    """A process that could not work refuses to start, naming the setting."""

    def run_binary(self, *args):
        import subprocess
        from harness import BINARY
        return subprocess.run([BINARY, *args], capture_output=True, text=True,
                              timeout=20)

    def test_bad_deployments_exit_2(self):
        keys = Keys("k", allowed=("k",))
        public_only = os.path.join(keys.allowed, "k")
        try:
            for args, needle in [
                    (("--actors", "gateway,bus"), "ACTORS"),
                    (("--actors", ""), "ACTORS"),
                    (("--actors", "gateway"), "ROOMS_ENDPOINT"),
                    (("--link-heartbeat", "5s", "--link-timeout", "5s"),
                     "LINK_TIMEOUT"),
                    (("--curve-secret-key", "/nonexistent"),
                     "CURVE_SECRET_KEY"),
                    (("--curve-secret-key", public_only),
                     "CURVE_SECRET_KEY"),
                    (("--curve-secret-key", keys.secret("k")),
                     "CURVE_ALLOWED_KEYS"),
                    (("--actors", "gateway", "--rooms-endpoint",
                      "tcp://127.0.0.1:9", "--events-in-endpoint",
                      "tcp://127.0.0.1:9", "--curve-secret-key",
                      keys.secret("k")), "CURVE_SERVER_KEY"),
                    (("--curve-server-key", keys.public("k")),
                     "CURVE_SECRET_KEY")]:
                with self.subTest(args=args):
                    result = self.run_binary(*args)
                    self.assertEqual(result.returncode, 2, result.stderr)
                    self.assertIn(needle, result.stderr)
        finally:
            keys.remove()


def cert_keys(path):
    with open(path) as f:
        text = f.read()
    public = re.search(r'public-key = "(.{40})"', text).group(1)
    secret = re.search(r'secret-key = "(.{40})"', text)
    return public.encode(), secret.group(1).encode() if secret else None


class Curve(unittest.IsolatedAsyncioTestCase):
    """Every tcp link with CURVE: allowed keys get through, others do not."""

    def setUp(self):
        self.keys = Keys("rooms", "gw", "tap", "stranger",
                         allowed=("gw", "tap"))
        self.rooms = RoomsProcess(*FAST_LINK,
                                  *self.keys.server_args("rooms"))
        self.gw = GatewayProcess(self.rooms, *FAST_LINK,
                                 *self.keys.client_args("gw", "rooms"))
        self.others = []
        self.clients = []

    async def asyncTearDown(self):
        for client in self.clients:
            await client.ws.close()

    def tearDown(self):
        for process in self.others + [self.gw, self.rooms]:
            self.assertEqual(process.stop(), 0)
        self.keys.remove()

    async def test_allowed_keys_link_and_others_cannot_connect_or_inject(self):
        # The allowed gateway links and serves a call
        alice = await joined(self.gw, "c1", "alice", self.clients)
        bob = await joined(self.gw, "c1", "bob", self.clients)
        await alice.send({"type": "offer", "room": "c1", "sdp": SDP_A})
        self.assertEqual((await bob.recv())["sdp"], SDP_A)
        self.rooms.wait_log("gateway.up", gateway=self.gw.instance)

        # A gateway with a key rooms does not know, and one with no key at
        # all, never link: they refuse clients, rooms never hears of them
        stranger = GatewayProcess(self.rooms, *FAST_LINK,
                                  *self.keys.client_args("stranger",
                                                         "rooms"))
        plain = GatewayProcess(self.rooms, *FAST_LINK)
        self.others += [stranger, plain]
        for gateway in (stranger, plain):
            self.assertEqual(gateway.find("rooms.linked"), [])
            self.assertEqual(await healthz(gateway), 503)
            with self.assertRaises(Exception):
                await Client.connect(gateway)
            self.assertEqual(self.rooms.find("gateway.up",
                                             gateway=gateway.instance), [])
        # ...and rooms' log says so, for rooms' socket and the bus's: the
        # stranger's key for certain (zauth's word), the plain one either
        # way the race goes
        for socket_name in ("rooms", "events-in"):
            self.rooms.wait_log("link.refused", socket=socket_name,
                                why=NOT_ALLOWED)
            wait_refused(self, self.rooms, socket_name, MISMATCH, BROKEN_OFF)

        # Observers: the allowed key sees events, the others see nothing
        good = Tap(self.rooms.observer, "conn.",
                   keys=self.keys.client_args("tap", "rooms"))
        bad = Tap(self.rooms.observer, "conn.",
                  keys=self.keys.client_args("stranger", "rooms"))
        none = Tap(self.rooms.observer, "conn.")
        try:
            await until_tap_sees(good, [self.gw])
            await joined(self.gw, "c2", "carol", self.clients)
            good.wait("conn.open", count=2, gateway=self.gw.instance)
        finally:
            for tap in (good, bad, none):
                tap.stop()
        self.assertEqual(bad.events + none.events, [])
        self.rooms.wait_log("link.refused", socket="events-out",
                            why=NOT_ALLOWED)
        wait_refused(self, self.rooms, "events-out", MISMATCH, BROKEN_OFF)

        # Injection: a forged CLOSE for alice in the allowed gateway's name,
        # from a stranger's key and from no key, changes nothing
        alice_conn = int(self.gw.wait_log("conn.open")["conn"], 16)
        rooms_public, _ = cert_keys(self.keys.public("rooms"))
        public, secret = cert_keys(self.keys.secret("stranger"))
        ctx = zmq_context(self)
        socks = []
        for curve in (True, False):
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.ROUTING_ID,
                            ("gw-" + self.gw.instance).encode())
            sock.setsockopt(zmq.IMMEDIATE, 0)
            if curve:
                sock.curve_publickey = public
                sock.curve_secretkey = secret
                sock.curve_serverkey = rooms_public
            sock.connect(self.rooms.rooms_endpoint)
            sock.send_multipart([b"CLOSE", mp_map([("c", alice_conn)])])
            socks.append(sock)
        await bob.send({"type": "answer", "room": "c1", "sdp": SDP_B})
        self.assertEqual((await alice.recv())["sdp"], SDP_B)
        self.assertEqual(self.rooms.find("room.leave", user="alice"), [])
        for sock in socks:
            sock.close(linger=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
