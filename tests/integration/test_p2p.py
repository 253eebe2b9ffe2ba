#!/usr/bin/python3
"""The p2p dialect against the real server: the reference's example
exchanges (docs/p2p.md, Conformance) frame by frame, with the fixed
behaviour where docs/p2p.md changes it, and every timer and fix.

Frames are compared as parsed JSON with their keys in wire order; only the
value of addedAt is ignored (it must be an integer)."""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServerTest  # noqa: E402


class P2PTest(ServerTest):
    async def connected(self, path="/"):
        c = await self.client(path)
        self.assertEqual(await c.recv(), {"type": "userConnect"})
        return c

    async def user(self, user_id, path="/", **fields):
        """A client registered with ADD_USER (processed before returning)."""
        c = await self.connected(path)
        await c.send(dict({"route": "ADD_USER", "userId": user_id}, **fields))
        self.assertEqual(await c.barrier(), [])
        return c

    async def expect(self, client, *frames):
        for expected in frames:
            got = await client.recv()
            if isinstance(expected, str):
                self.assertEqual(got, expected)
                continue
            self.assertIsInstance(got, dict, got)
            if "addedAt" in expected:
                self.assertIsInstance(got.get("addedAt"), int)
                got = dict(got, addedAt=expected["addedAt"])
            self.assertEqual(list(got.items()), list(expected.items()))

    async def nothing(self, *clients):
        for c in clients:
            self.assertEqual(await c.barrier(), [])


CANCEL = {"type": "cancel"}
CONNECT = {"type": "connect"}


def streams(ids):
    return {"type": "remoteStreamsId", "streamIds": ids}


class Examples(P2PTest):
    async def test_example1_full_call(self):
        a = await self.user("alice", name="Alice", photo="a.png",
                            device="web")
        b = await self.user("bob", name="Bob", device="ios")
        await a.send({"route": "SET_REMOTE_STREAM_ID", "userId": "alice",
                      "kind": "audio", "streamId": "sA-audio"})
        await b.send({"route": "SET_REMOTE_STREAM_ID", "userId": "bob",
                      "kind": "video", "streamId": "sB-video"})
        await self.nothing(a, b)
        offer = {"type": "offer", "sdp": "v=0 A"}
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": ["bob"], "offer": offer, "isVideo": True})
        await self.expect(b, {"type": "call", "offer": offer,
                              "isVideo": True, "userId": "alice",
                              "name": "Alice", "photo": "a.png",
                              "candidates": "alice", "device": "web"},
                          streams({"audio": "sA-audio"}))
        answer = {"type": "answer", "sdp": "v=0 B"}
        await b.send({"route": "ANSWER", "userId": "bob", "answer": answer,
                      "extra": 1})
        await self.expect(a, streams({"video": "sB-video"}),
                          {"type": "acceptCall", "answer": answer,
                           "device": "ios"})
        await self.expect(b, CONNECT)
        await self.expect(a, CONNECT)
        ice_a = [{"candidate": "cA1", "sdpMid": "0", "sdpMLineIndex": 0}]
        ice_b = [{"candidate": "cB1", "sdpMid": "0", "sdpMLineIndex": 0}]
        await a.send({"route": "ADD_ICE", "userId": "alice",
                      "iceParams": ice_a})
        await b.send({"route": "ADD_ICE", "userId": "bob", "iceParams": ice_b})
        await self.nothing(b)
        await a.send({"route": "SWAP_ICE", "userId": "alice"})
        await self.expect(a, {"type": "swapIce", "iceCandidates": ice_b})
        await self.expect(b, {"type": "swapIce", "iceCandidates": ice_a})
        await b.send({"route": "SWAP_ICE", "userId": "bob"})
        await self.expect(b, {"type": "swapIce", "iceCandidates": ice_a})
        await self.expect(a, {"type": "swapIce", "iceCandidates": ice_b})
        await a.send({"route": "MEDIA_UPDATE", "userId": "alice",
                      "video": False, "audio": True})
        await self.expect(b, {"type": "updateMedia", "video": False,
                              "audio": True})
        offer2 = {"type": "offer", "sdp": "v=0 A2"}
        await a.send({"route": "UPDATE_OFFER", "userId": "alice",
                      "offer": offer2})
        await self.expect(b, {"type": "updateOffer", "offer": offer2},
                          streams({"audio": "sA-audio"}))
        answer2 = {"type": "answer", "sdp": "v=0 B2"}
        await b.send({"route": "UPDATE_ANSWER", "userId": "bob",
                      "answer": answer2})
        await self.expect(a, streams({"video": "sB-video"}),
                          {"type": "updateAnswer", "answer": answer2})
        await self.expect(b, {"type": "updateIce"})
        await self.expect(a, {"type": "updateIce"})
        await a.send("PING")
        await self.expect(a, "PONG")
        await a.send({"route": "DECLINE", "userId": "alice"})
        await self.expect(b, {"type": "decline", "name": "Alice"})
        await self.expect(a, CANCEL)
        await b.send({"route": "DECLINE", "userId": "bob"})
        await self.expect(a, CANCEL)
        await self.nothing(a, b)
        status = self.server.wait_log("call.status", user="bob",
                                      to="in_call")
        self.assertEqual(status["from"], "ringing")

    async def ringing(self, sdp):
        """a2 calls b2, whose phone rings (examples 2 and 3)."""
        a = await self.user("a2", name="A2")
        b = await self.user("b2", name="B2")
        await a.send({"route": "OFFER", "userId": "a2", "candidates": "b2",
                      "sdp": sdp})
        await self.expect(b, {"type": "call", "sdp": sdp, "userId": "a2",
                              "name": "A2", "photo": "", "candidates": "a2",
                              "device": "mobile"}, streams({}))
        return a, b

    async def test_example2_callee_rejects(self):
        a, b = await self.ringing("S")
        await b.send({"route": "DECLINE", "userId": "b2"})
        await self.expect(a, {"type": "decline", "name": "B2"})
        await self.expect(b, CANCEL)
        await a.send({"route": "DECLINE", "userId": "a2"})
        await self.expect(b, CANCEL)
        await self.nothing(a, b)

    async def test_example3_caller_cancels(self):
        a, b = await self.ringing("S2")
        await a.send({"route": "DECLINE", "userId": "a2"})
        await self.expect(b, CANCEL, {"type": "decline", "name": "A2"})
        await self.expect(a, CANCEL)
        await self.nothing(a, b)

    async def test_example4_waiting_list_then_busy(self):
        a = await self.user("alice", name="Alice")
        offer = {"type": "offer", "sdp": "X"}
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": '["carol","dave"]', "offer": offer})
        await self.expect(a, {"type": "error", "message":
                              "Target user carol not found or not available",
                              "handler": "OFFER",
                              "context": {"offer": offer}})
        c = await self.connected()
        await c.send({"route": "ADD_USER", "userId": "carol",
                      "name": "Carol"})
        await self.expect(c, {"type": "call", "offer": offer,
                              "userId": "alice", "name": "Alice",
                              "candidates": "alice", "device": "mobile",
                              "addedAt": 0})
        answer = {"type": "answer", "sdp": "Y"}
        await c.send({"route": "ANSWER", "userId": "carol",
                      "answer": answer})
        await self.expect(a, streams({}), {"type": "acceptCall",
                                           "answer": answer,
                                           "device": "mobile"})
        await self.expect(c, CONNECT)
        await self.expect(a, CONNECT)
        # Fixed (B8): dave's entry went with the answer; he is not rung
        d = await self.user("dave", name="Dave")
        await self.nothing(d)
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "dave",
                      "offer": {"type": "offer", "sdp": "Z"}})
        await self.expect(a, {"type": "busy"})
        await self.nothing(a, c, d)

    async def test_example5_multi_device_then_reconnect(self):
        a = await self.user("alice", name="Alice", device="web")
        b1 = await self.user("bob", name="Bob", device="ios")
        b2 = await self.user("bob", name="Bob", device="web")
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "bob", "sdp": "o1"})
        call = {"type": "call", "sdp": "o1", "userId": "alice",
                "name": "Alice", "photo": "", "candidates": "alice",
                "device": "web"}
        await self.expect(b1, call, streams({}))
        await self.expect(b2, call, streams({}))
        await b1.send({"route": "ANSWER", "userId": "bob",
                       "answer": {"sdp": "a1"}})
        await self.expect(a, streams({}), {"type": "acceptCall",
                                           "answer": {"sdp": "a1"},
                                           "device": "ios"})
        await self.expect(b2, CANCEL)
        await self.expect(b1, CONNECT)
        await self.expect(a, CONNECT)
        await a.send({"route": "ADD_ICE", "userId": "alice",
                      "iceParams": ["ia"]})
        await self.nothing(a)           # stored before b1's SWAP_ICE
        await b1.send({"route": "ADD_ICE", "userId": "bob",
                       "iceParams": ["ib"]})
        await b1.send({"route": "SWAP_ICE", "userId": "bob"})
        await self.expect(b1, {"type": "swapIce", "iceCandidates": ["ia"]})
        await self.expect(a, {"type": "swapIce", "iceCandidates": ["ib"]})
        b3 = await self.connected()
        await b3.send({"route": "RECONNECT", "userId": "bob",
                       "name": "Bobby"})
        await self.expect(b3, {"type": "reconnectSuccess",
                               "status": "in_call", "candidate": "alice",
                               "message": "Session restored successfully"})
        await self.expect(a, {"type": "peerReconnected", "userId": "bob",
                              "name": "Bobby", "status": "in_call"})
        # Fixed (B11): the old socket is closed, frames go to the new one
        self.assertEqual(await b1.closed(),
                         (1000, "Session moved to another connection"))
        await a.send({"route": "MEDIA_UPDATE", "userId": "alice",
                      "video": True})
        await self.expect(b3, {"type": "updateMedia", "video": True})
        await a.send({"route": "UPDATE_OFFER", "userId": "alice",
                      "sdp": "o2"})
        await self.expect(b3, {"type": "updateOffer", "sdp": "o2"},
                          streams({}))
        await self.nothing(a, b2, b3)

    async def test_example6_reconnect_failures(self):
        x = await self.connected()
        await x.send({"route": "RECONNECT"})
        await self.expect(x, {"type": "reconnectError",
                              "error": "<b>userId</b> is required",
                              "suggestion": "Try ADD_USER instead"})
        await x.send({"route": "RECONNECT", "userId": "ghost"})
        await self.expect(x, {"type": "reconnectError", "error":
                              "No existing session found for user ghost",
                              "suggestion": "Try ADD_USER instead"})
        await x.send({"route": "ADD_USER", "userId": "alice",
                      "name": "Alice"})
        await x.send({"route": "RECONNECT", "userId": "alice"})
        await self.expect(x, {"type": "reconnectError", "error":
                              "No active session found for user alice",
                              "suggestion": "Try ADD_USER instead"})
        # D2 takes over D1's ringing session; D1 is closed (B11)
        d1 = await self.user("dan", name="Dan")
        c1 = await self.user("carl", name="Carl")
        await c1.send({"route": "OFFER", "userId": "carl",
                       "candidates": "dan", "sdp": "x"})
        await self.expect(d1, {"type": "call", "sdp": "x", "userId": "carl",
                               "name": "Carl", "photo": "",
                               "candidates": "carl", "device": "mobile"},
                          streams({}))
        d2 = await self.connected()
        await d2.send({"route": "RECONNECT", "userId": "dan"})
        await self.expect(d2, {"type": "reconnectSuccess", "status": "idle",
                               "candidate": "carl", "message":
                               "Session restored successfully"})
        await self.expect(c1, {"type": "peerReconnected", "userId": "dan",
                               "name": "Dan", "status": "idle"})
        self.assertEqual((await d1.closed())[0], 1000)
        # Fixed (B8): nothing waits for dan, so no second call
        await d2.send({"route": "ADD_USER", "userId": "dan",
                       "name": "Dan2"})
        await self.nothing(d2)

    async def test_example7_error_frames(self):
        x = await self.connected()
        cases = [
            ({"route": "ADD_USER", "name": "NoId"},
             "<b>userId</b> is required", "ADD_USER", {"name": "NoId"}),
            ({"route": "OFFER", "userId": "nobody"},
             "Cannot read properties of undefined (reading 'get')", "OFFER",
             {}),
            ({"route": "OFFER"}, "userId is required", "OFFER", {}),
            ({"route": "ADD_ICE", "iceParams": [1]},
             "ws.userId is missing", "ADD_ICE", {"iceParams": [1]}),
            ({"route": "MEDIA_UPDATE", "video": True},
             "userId is required", "handleUpdateMedia", {"video": True}),
            ({"route": "DECLINE", "userId": "nobody"},
             "Peer2 user not found", "DECLINE", {}),
            # Fixed (B2, B3): these reach the client now
            ({"route": "ANSWER", "userId": "nobody", "answer": 1},
             "User not found", "ANSWER", {"answer": 1}),
            ({"route": "SWAP_ICE", "userId": "nobody"},
             "First user was not found", "SWAP_ICE", {"id": "nobody"}),
            ({"route": "SET_REMOTE_STREAM_ID", "userId": "nobody",
              "kind": "audio", "streamId": "s"},
             "peer1 not found", "SET_REMOTE_STREAM_ID", {}),
        ]
        for frame, message, handler, context in cases:
            with self.subTest(frame=frame):
                await x.send(frame)
                await self.expect(x, {"type": "error", "message": message,
                                      "handler": handler,
                                      "context": context})
        # Not JSON, not an object, unknown routes: PARSE (the original
        # ignored them)
        for frame in ["not json", "null", "[1]", "{}", '{"route":5}',
                      '{"route":"NOPE"}', "ping", '{"route":"OFFER",'
                      '"userId":01}']:
            with self.subTest(frame=frame):
                await x.send(frame)
                await self.expect(x, {"type": "error",
                                      "message": "Invalid message",
                                      "handler": "PARSE", "context": {}})
        await self.nothing(x)


class Fixes(P2PTest):
    server_args = ("--p2p-reconnect-grace", "2s")

    async def test_reconnect_within_grace_restores_the_call(self):
        a = await self.user("alice", name="Alice")
        b = await self.user("bob", name="Bob", device="ios")
        await a.send({"route": "SET_REMOTE_STREAM_ID", "userId": "alice",
                      "kind": "audio", "streamId": "sa"})
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "bob", "sdp": "o"})
        await self.expect(b, {"type": "call", "sdp": "o", "userId": "alice",
                              "name": "Alice", "photo": "",
                              "candidates": "alice", "device": "mobile"},
                          streams({"audio": "sa"}))
        await b.send({"route": "ANSWER", "userId": "bob", "answer": "a"})
        await self.expect(a, streams({}), {"type": "acceptCall",
                                           "answer": "a", "device": "ios"},
                          CONNECT)
        await self.expect(b, CONNECT)
        # Bob's connection drops: alice hears nothing
        await b.close()
        self.server.wait_log("p2p.grace", user="bob")
        await self.nothing(a)
        b2 = await self.connected()
        await b2.send({"route": "RECONNECT", "userId": "bob"})
        await self.expect(b2, {"type": "reconnectSuccess",
                               "status": "ringing", "candidate": "alice",
                               "message": "Session restored successfully"})
        await self.expect(a, {"type": "peerReconnected", "userId": "bob",
                              "name": "Bob", "status": "ringing"})
        # The call goes on: renegotiation, with the kept device (B12)
        await a.send({"route": "UPDATE_OFFER", "userId": "alice",
                      "sdp": "o2"})
        await self.expect(b2, {"type": "updateOffer", "sdp": "o2"},
                          streams({"audio": "sa"}))
        await b2.send({"route": "DECLINE", "userId": "bob"})
        await self.expect(a, {"type": "decline", "name": "Bob"})

    async def test_grace_expiry_tells_the_partner(self):
        a = await self.user("alice", name="Alice")
        b = await self.user("bob", name="Bob")
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "bob", "sdp": "o"})
        await b.recv()
        await b.recv()
        await b.send({"route": "ANSWER", "userId": "bob", "answer": "a"})
        for _ in range(3):
            await a.recv()
        await b.close()
        self.server.wait_log("p2p.grace_expired", user="bob", timeout=6)
        await self.expect(a, {"type": "decline", "name": "Bob"})
        x = await self.connected()
        await x.send({"route": "RECONNECT", "userId": "bob"})
        await self.expect(x, {"type": "reconnectError", "error":
                              "No existing session found for user bob",
                              "suggestion": "Try ADD_USER instead"})

    async def test_busy_when_the_callee_is_in_another_call(self):
        a = await self.user("alice")
        b = await self.user("bob")
        c = await self.user("carl")
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "bob", "sdp": "o"})
        await b.recv()
        await b.recv()
        await b.send({"route": "ANSWER", "userId": "bob", "answer": "a"})
        await self.expect(b, CONNECT)
        await c.send({"route": "OFFER", "userId": "carl",
                      "candidates": "bob", "sdp": "o"})
        await self.expect(c, {"type": "busy"})
        # The running call is untouched
        await a.send({"route": "MEDIA_UPDATE", "userId": "alice",
                      "audio": False})
        await self.expect(b, {"type": "updateMedia", "audio": False})

    async def test_numeric_ids_and_self_calls(self):
        a = await self.user(101, name="N")
        b = await self.user("202")
        await a.send({"route": "OFFER", "userId": "101",
                      "candidates": [202], "sdp": "n"})
        await self.expect(b, {"type": "call", "sdp": "n", "userId": "101",
                              "name": "N", "photo": "",
                              "candidates": "101", "device": "mobile"},
                          streams({}))
        await a.send({"route": "DECLINE", "userId": 101})
        await self.expect(b, CANCEL, {"type": "decline", "name": "N"})
        await a.recv()
        await a.send({"route": "OFFER", "userId": 101, "candidates": 101,
                      "sdp": "me"})
        await self.expect(a, {"type": "error",
                              "message": "You cannot call yourself",
                              "handler": "OFFER",
                              "context": {"sdp": "me"}})

    async def test_reregistering_under_another_id_drops_the_old_one(self):
        x = await self.user("first")
        await x.send({"route": "ADD_USER", "userId": "second"})
        y = await self.connected()
        await y.send({"route": "RECONNECT", "userId": "first"})
        await self.expect(y, {"type": "reconnectError", "error":
                              "No existing session found for user first",
                              "suggestion": "Try ADD_USER instead"})


class Metrics(P2PTest):
    # WELCOME, which carries rooms' numbers to /metrics, every 100 ms
    server_args = ("--link-heartbeat", "100ms")

    async def test_metrics_follow_users_calls_and_the_waiting_list(self):
        a = await self.user("alice")
        b = await self.user("bob")
        c = await self.user("carol")
        # An offer to someone offline waits for them
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "dave", "sdp": "o"})
        await a.barrier()
        # A call answered links both sides
        await b.send({"route": "OFFER", "userId": "bob",
                      "candidates": "carol", "sdp": "o"})
        await c.barrier()
        await c.send({"route": "ANSWER", "userId": "carol", "answer": "a"})
        await b.barrier()
        await self.metrics(**{
            'homecall_connections{dialect="p2p"}': 3,
            "homecall_p2p_users": 3, "homecall_p2p_waiting_calls": 1,
            "homecall_p2p_linked_users": 2, "homecall_p2p_grace_sessions": 0})
        # A dropped connection in a call keeps its session for RECONNECT
        await c.close()
        await self.metrics(**{
            'homecall_connections{dialect="p2p"}': 2,
            "homecall_p2p_grace_sessions": 1})


class Timers(P2PTest):
    server_args = ("--p2p-waiting-ttl", "300ms", "--p2p-waiting-sweep",
                   "50ms", "--p2p-heartbeat-interval", "100ms",
                   "--p2p-heartbeat-timeout", "1500ms")

    async def test_waiting_list_expiry_tells_the_caller(self):
        a = await self.user("alice")
        await a.send({"route": "OFFER", "userId": "alice",
                      "candidates": "carol", "sdp": "o"})
        await self.expect(a, {"type": "error", "message":
                              "Target user carol not found or not available",
                              "handler": "OFFER", "context": {"sdp": "o"}})
        await self.expect(a, {"type": "decline"})   # fixed: B1
        self.server.wait_log("p2p.waiting_expired", to="carol")
        c = await self.user("carol")
        await self.nothing(c)

    async def test_heartbeat_closes_silent_connections(self):
        # The silent client's clock starts when it connects, before the
        # other two do: a loaded machine can take a while over those
        loop = asyncio.get_running_loop()
        start = loop.time()
        silent = await self.connected()
        pinging = await self.connected()
        json_pinging = await self.connected("/other")
        closed = asyncio.ensure_future(silent.closed(timeout=10))
        while not closed.done() and loop.time() - start < 8:
            await pinging.send("PING")
            self.assertEqual(await pinging.recv(), "PONG")
            await json_pinging.send({"route": "PING"})
            self.assertEqual(await json_pinging.recv(), "PONG")
            await asyncio.sleep(0.2)
        self.assertEqual(await closed, (1000, "No ping received"))
        self.assertGreaterEqual(loop.time() - start, 1.4)
        self.server.wait_log("p2p.heartbeat_close")
        # Text PING and JSON PING (fixed: B5) both keep a connection
        await self.nothing(pinging, json_pinging)


if __name__ == "__main__":
    unittest.main(verbosity=2)
