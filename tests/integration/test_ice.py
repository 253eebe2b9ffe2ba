#!/usr/bin/python3
"""ICE servers and TURN credentials, asked of the gateway in both dialects.

/signal: {"type":"ice-servers"} gets {"type":"ice-servers","iceServers":
[...]}; p2p: {"route":"GET_ICE_SERVERS"} gets {"type":"iceServers",
"iceServers":[...]}. The list is in RTCPeerConnection's format; a TURN
entry's credential is coturn's REST scheme, checked here with Python's
own hmac (username "EXPIRY:CONN", password base64 (HMAC-SHA1 (secret,
username)))."""

import asyncio
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Client, Server, ServerTest  # noqa: E402

REPLAY = os.path.join(os.path.dirname(BINARY), "homecall-replay")

SECRET = "kn0wn to coturn"
STUN = "stun:stun.example.org:3478"
TURN = ["turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349?transport=tcp"]


def password(secret, username):
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


class NothingSet(ServerTest):
    async def test_signal_gets_an_empty_list(self):
        c = await self.client()
        await c.send({"type": "ice-servers"})
        self.assertEqual(await c.recv_raw(),
                         '{"type":"ice-servers","iceServers":[]}')

    async def test_p2p_gets_an_empty_list(self):
        c = await self.client("/")
        self.assertEqual(await c.recv(), {"type": "userConnect"})
        await c.send({"route": "GET_ICE_SERVERS", "userId": "101"})
        self.assertEqual(await c.recv_raw(),
                         '{"type":"iceServers","iceServers":[]}')


class Configured(ServerTest):
    server_args = ("--stun-urls", STUN, "--turn-urls", ",".join(TURN),
                   "--turn-secret", SECRET, "--turn-ttl", "10m")

    def check_servers(self, servers, conn):
        """The list is STUN, then TURN with a credential for conn that
        lives TURN_TTL"""
        self.assertEqual(servers[0], {"urls": [STUN]})
        turn = servers[1]
        self.assertEqual(list(turn), ["urls", "username", "credential"])
        self.assertEqual(turn["urls"], TURN)
        expiry, user = turn["username"].split(":")
        self.assertEqual(user, conn)
        self.assertAlmostEqual(int(expiry), time.time() + 600, delta=5)
        self.assertEqual(turn["credential"],
                         password(SECRET, turn["username"]))
        self.assertEqual(len(servers), 2)

    async def test_signal_before_and_after_join(self):
        c = await self.client()
        opened = self.server.wait_log("conn.open", dialect="signal")
        await c.send({"type": "ice-servers"})
        reply = await c.recv_ordered()
        self.assertEqual([k for k, _ in reply], ["type", "iceServers"])
        self.assertEqual(reply[0][1], "ice-servers")
        self.check_servers(reply[1][1], opened["conn"])
        # Joined, the same; nothing goes to the room
        other = await self.joined("w1", "bob")
        await c.send({"type": "join", "room": "w1", "user": "al"})
        await c.send({"type": "ice-servers", "room": "w1"})
        self.check_servers((await c.recv())["iceServers"], opened["conn"])
        await other.expect_nothing(self)
        await c.expect_nothing(self)

    async def test_p2p_route(self):
        c = await self.client("/ws?token=1")
        self.assertEqual(await c.recv(), {"type": "userConnect"})
        opened = self.server.wait_log("conn.open", dialect="p2p")
        await c.send({"route": "GET_ICE_SERVERS", "userId": 7})
        reply = await c.recv_ordered()
        self.assertEqual([k for k, _ in reply], ["type", "iceServers"])
        self.assertEqual(reply[0][1], "iceServers")
        self.check_servers(reply[1][1], opened["conn"])
        await c.expect_nothing(self)

    async def test_each_connection_has_its_own_username(self):
        names = set()
        for _ in range(3):
            c = await self.client()
            await c.send({"type": "ice-servers"})
            names.add((await c.recv())["iceServers"][1]["username"]
                      .split(":")[1])
        self.assertEqual(len(names), 3)

    async def test_the_secret_is_never_logged(self):
        c = await self.client()
        await c.send({"type": "ice-servers"})
        await c.recv()
        self.server.wait_log("ice.servers")
        self.assertFalse([line for line in self.server.lines
                          if SECRET in line])


class Replayed(unittest.IsolatedAsyncioTestCase):
    """A trace with ice-servers answers replays against another run:
    credentials, new for every connection, are volatile by default."""

    async def test_trace_replays(self):
        args = Configured.server_args
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "ice.jsonl")
            server = await asyncio.to_thread(Server, *args, "--trace", trace)
            try:
                for path, ask in (("/signal", {"type": "ice-servers"}),
                                  ("/", {"route": "GET_ICE_SERVERS"})):
                    c = await Client.connect(server, path)
                    if c.p2p:
                        await c.recv()
                    await c.send(ask)
                    await c.recv()
                    await c.close()
            finally:
                self.assertEqual(server.stop(), 0)
            server = await asyncio.to_thread(Server, *args)
            try:
                for extra, code in (((), 0), (("--volatile", "addedAt"), 1)):
                    result = await asyncio.to_thread(
                        subprocess.run,
                        [REPLAY, trace, "--url", server.url(""), *extra],
                        capture_output=True, text=True, timeout=60)
                    self.assertEqual(result.returncode, code,
                                     result.stdout + result.stderr)
            finally:
                self.assertEqual(server.stop(), 0)


class BadSettings(unittest.TestCase):
    def test_refused_at_start(self):
        for args, needle in [
                (("--turn-urls", TURN[0]), "TURN_SECRET"),
                (("--stun-urls", "http://stun.example.org"), "STUN_URLS"),
                (("--turn-urls", STUN, "--turn-secret", "x"), "TURN_URLS"),
                (("--turn-ttl", "0s"), "TURN_TTL"),
                (("--demo-page", "maybe"), "DEMO_PAGE")]:
            with self.subTest(args=args):
                result = subprocess.run([BINARY, *args], capture_output=True,
                                        text=True, timeout=20)
                self.assertEqual(result.returncode, 2)
                self.assertIn(needle, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
