#!/usr/bin/python3
"""Records the traces of tests/traces/ afresh: each flow runs against a
one-process server started with --trace, with real WebSocket clients.

    HOMECALL_BINARY=build/homecall tests/traces/record.py [FLOW...]

Every client closes before the server stops, so a trace holds no shutdown
closes, and the server runs with its default settings, which is what the
replays run against (tests/integration/test_traces.py).
"""

import asyncio
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import Client, Server  # noqa: E402
from test_signal import CAND_A, CAND_B, SDP_A, SDP_B  # noqa: E402


class Flow:
    def __init__(self, server):
        self.server = server
        self.clients = []

    async def client(self, path="/signal"):
        c = await Client.connect(self.server, path)
        self.clients.append(c)
        return c

    async def user(self, user_id, **fields):
        """A p2p client registered with ADD_USER (processed on return)."""
        c = await self.client("/")
        await c.recv()                          # userConnect
        await c.send(dict({"route": "ADD_USER", "userId": user_id}, **fields))
        await c.barrier()
        return c

    async def joined(self, room, user):
        c = await self.client()
        await c.send({"type": "join", "room": room, "user": user})
        c.pending = await c.barrier()
        return c

    async def close_all(self):
        for c in self.clients:
            await c.ws.close()
        self.server.wait_count("conn.close", len(self.clients))


async def call(flow):
    """Two members: offer, answer, candidates both ways, then leave."""
    alice = await flow.joined("w1", "alice")
    bob = await flow.joined("w1", "bob")
    await alice.send({"type": "offer", "room": "w1", "from": "alice",
                      "sdp": SDP_A})
    await bob.recv()
    await bob.send({"type": "answer", "room": "w1", "from": "bob",
                    "sdp": SDP_B})
    await alice.recv()
    await alice.send({"type": "candidate", "room": "w1", "from": "alice",
                      "candidate": CAND_A})
    await bob.recv()
    await bob.send({"type": "candidate", "room": "w1", "from": "bob",
                    "candidate": CAND_B})
    await alice.recv()
    await bob.send({"type": "leave", "room": "w1", "user": "bob"})
    await alice.send({"type": "candidate", "room": "w1", "candidate": "c"})
    await alice.barrier()
    await flow.close_all()


async def queued_offer(flow):
    """Signals sent to an empty room wait for the right joiner, in order."""
    alice = await flow.joined("w1", "alice")
    await alice.send({"type": "offer", "room": "w1", "sdp": SDP_A,
                      "to": "x"})
    await alice.send({"type": "offer", "room": "w1", "sdp": SDP_A})
    await alice.send({"type": "candidate", "room": "w1",
                      "candidate": CAND_A})
    await alice.barrier()
    await flow.joined("w1", "bob")
    await flow.joined("w1", "x")
    await flow.joined("w1", "carol")
    await flow.close_all()


async def takeover(flow):
    """A reloaded tab takes its name over; the old one is told."""
    old = await flow.joined("w1", "alice")
    bob = await flow.joined("w1", "bob")
    await old.send({"type": "offer", "room": "w1", "sdp": "old"})
    await bob.recv()
    new = await flow.joined("w1", "alice")
    await old.recv()
    await old.send({"type": "offer", "room": "w1", "sdp": "stale"})
    await old.recv()
    await bob.send({"type": "answer", "room": "w1", "sdp": "a"})
    await new.recv()
    await old.ws.close()
    flow.server.wait_log("conn.close")
    await bob.send({"type": "candidate", "room": "w1", "candidate": "c"})
    await new.recv()
    await flow.close_all()


async def addressing(flow):
    """to picks one member; leave removes only the sender; a departed
    sender's queued frames go with it."""
    a = await flow.joined("r", "a")
    b = await flow.joined("r", "b")
    c = await flow.joined("r", "c")
    await a.send({"type": "offer", "room": "r", "sdp": "all"})
    await b.recv()
    await c.recv()
    await a.send({"type": "offer", "room": "r", "sdp": "c only", "to": "c"})
    await c.recv()
    await b.send({"type": "leave", "room": "r", "user": "a"})
    await b.recv()
    await b.send({"type": "leave"})
    await b.send({"type": "leave"})
    await b.barrier()
    await c.send({"type": "leave", "room": "r", "user": "c"})
    await a.send({"type": "candidate", "room": "r", "candidate": "q",
                  "to": "zed"})
    await a.barrier()
    await a.ws.close()
    flow.server.wait_log("relay.dropped", reason="disconnect")
    zed = await flow.joined("r", "zed")
    await zed.barrier()
    await flow.close_all()


MALFORMED = [
    "not json", "", "null", "[]", "[1,2]", "5", '"join"', "true",
    '{"type":"join"} x', "{}", '{"type":5}', '{"type":null}',
    '{"type":"  "}', '{"type":"bogus"}',
    '{"type":"JOIN","room":"r","user":"u"}', '{"type":"join","room":"r"}',
    '{"type":"join","room":"","user":"u"}',
    '{"type":"join","room":5,"user":"u"}',
    '{"type":"join","room":"r","user":{"n":1}}', '{"type":"leave","room":7}',
    '{"type":"offer","room":"r"}', '{"type":"offer","room":"r","sdp":5}',
    '{"type":"answer","room":"r","sdp":null}',
    '{"type":"offer","room":"r","sdp":"x","to":1}',
    '{"type":"offer","room":["r"],"sdp":"x"}',
    '{"type":"candidate","room":"r","candidate":7}',
    '{"type":"candidate","room":"r","candidate":{"i":01}}',
    '{"type":"error"}',
]


async def errors(flow):
    """Every malformed frame, refusals, binary frames, a client's own
    error report, and a frame over MAX_FRAME_SIZE."""
    outsider = await flow.client()
    await outsider.send({"type": "offer", "room": "w1", "sdp": "x"})
    await outsider.recv()
    alice = await flow.joined("w1", "alice")
    bob = await flow.joined("w1", "bob")
    mallory = await flow.joined("w2", "mallory")
    for text in MALFORMED:
        await bob.send(text)
        await bob.recv()
    await bob.send(b"\xff\xfe{}")
    await bob.recv()
    await bob.send(json.dumps({"type": "offer", "room": "w1",
                               "sdp": "bin"}).encode())
    await alice.recv()
    await mallory.send({"type": "offer", "room": "w1", "from": "alice",
                        "sdp": "evil"})
    await mallory.recv()
    await mallory.send({"type": "leave", "room": "w1", "user": "bob"})
    await mallory.recv()
    await alice.send({"type": "error", "message": "camera failed"})
    await alice.barrier()
    big = await flow.joined("w1", "big")
    await big.send({"type": "offer", "room": "w1", "sdp": "x" * 70000})
    await big.closed()
    await alice.send({"type": "offer", "room": "w1", "sdp": "after"})
    await bob.recv()
    await flow.close_all()


async def p2p_call(flow):
    """The reference's example 1: call, answer, ICE swap, media update,
    renegotiation, PING, hangup and its acknowledgement."""
    a = await flow.user("alice", name="Alice", photo="a.png", device="web")
    b = await flow.user("bob", name="Bob", device="ios")
    await a.send({"route": "SET_REMOTE_STREAM_ID", "userId": "alice",
                  "kind": "audio", "streamId": "sA-audio"})
    await b.send({"route": "SET_REMOTE_STREAM_ID", "userId": "bob",
                  "kind": "video", "streamId": "sB-video"})
    await b.barrier()
    await a.send({"route": "OFFER", "userId": "alice", "candidates": ["bob"],
                  "offer": {"type": "offer", "sdp": SDP_A}, "isVideo": True})
    await b.recv()
    await b.recv()
    await b.send({"route": "ANSWER", "userId": "bob",
                  "answer": {"type": "answer", "sdp": SDP_B}})
    for _ in range(3):
        await a.recv()
    await b.recv()
    await a.send({"route": "ADD_ICE", "userId": "alice", "iceParams": [CAND_A]})
    await b.send({"route": "ADD_ICE", "userId": "bob", "iceParams": [CAND_B]})
    await a.barrier()
    await b.barrier()
    await a.send({"route": "SWAP_ICE", "userId": "alice"})
    await a.recv()
    await b.recv()
    await b.send({"route": "SWAP_ICE", "userId": "bob"})
    await b.recv()
    await a.recv()
    await a.send({"route": "MEDIA_UPDATE", "userId": "alice", "video": False})
    await b.recv()
    await a.send({"route": "UPDATE_OFFER", "userId": "alice",
                  "offer": {"type": "offer", "sdp": "v=0 A2"}})
    await b.recv()
    await b.recv()
    await b.send({"route": "UPDATE_ANSWER", "userId": "bob",
                  "answer": {"type": "answer", "sdp": "v=0 B2"}})
    await a.recv()
    await a.recv()
    await a.recv()
    await b.recv()
    await a.send("PING")
    await a.recv()
    await b.send({"route": "PING"})
    await b.recv()
    await a.send({"route": "DECLINE", "userId": "alice"})
    await b.recv()
    await a.recv()
    await b.send({"route": "DECLINE", "userId": "bob"})
    await a.recv()
    await flow.close_all()


async def p2p_reject_and_cancel(flow):
    """Examples 2 and 3: the callee rejects, then the caller cancels."""
    a = await flow.user("a2", name="A2")
    b = await flow.user("b2", name="B2")
    await a.send({"route": "OFFER", "userId": "a2", "candidates": "b2",
                  "sdp": "S"})
    await b.recv()
    await b.recv()
    await b.send({"route": "DECLINE", "userId": "b2"})
    await a.recv()
    await b.recv()
    await a.send({"route": "DECLINE", "userId": "a2"})
    await b.recv()
    await a.send({"route": "OFFER", "userId": "a2", "candidates": "b2",
                  "sdp": "S2"})
    await b.recv()
    await b.recv()
    await a.send({"route": "DECLINE", "userId": "a2"})
    await b.recv()
    await b.recv()
    await a.recv()
    await flow.close_all()


async def p2p_waiting_list(flow):
    """Example 4: an offline callee gets the call when it registers; a
    second offer while paired is busy. (Each flow has ids of its own, so
    that calls left in their reconnect grace by one replay do not meet the
    next on the same server.)"""
    a = await flow.user("alice4", name="Alice")
    await a.send({"route": "OFFER", "userId": "alice4",
                  "candidates": '["carol4","dave4"]',
                  "offer": {"type": "offer", "sdp": "X"}})
    await a.recv()
    c = await flow.client("/")
    await c.recv()
    await c.send({"route": "ADD_USER", "userId": "carol4", "name": "Carol"})
    await c.recv()
    await c.send({"route": "ANSWER", "userId": "carol4",
                  "answer": {"type": "answer", "sdp": "Y"}})
    for _ in range(3):
        await a.recv()
    await c.recv()
    d = await flow.user("dave4", name="Dave")
    await a.send({"route": "OFFER", "userId": "alice4", "candidates": "dave4",
                  "offer": {"type": "offer", "sdp": "Z"}})
    await a.recv()
    await d.barrier()
    await flow.close_all()


async def p2p_devices_and_reconnect(flow):
    """Example 5: two devices ring, one answers; a third connection
    reconnects while the old one is still open (it is closed), and a drop
    within the grace period is restored by RECONNECT."""
    a = await flow.user("alice5", name="Alice", device="web")
    b1 = await flow.user("bob5", name="Bob", device="ios")
    b2 = await flow.user("bob5", name="Bob", device="web")
    await a.send({"route": "OFFER", "userId": "alice5", "candidates": "bob5",
                  "sdp": "o1"})
    for c in (b1, b1, b2, b2):
        await c.recv()
    await b1.send({"route": "ANSWER", "userId": "bob5",
                   "answer": {"sdp": "a1"}})
    for _ in range(3):
        await a.recv()
    await b2.recv()
    await b1.recv()
    b3 = await flow.client("/")
    await b3.recv()
    await b3.send({"route": "RECONNECT", "userId": "bob5", "name": "Bobby"})
    await b3.recv()
    await a.recv()
    await b1.closed()
    flow.server.wait_log("conn.close")
    await a.send({"route": "MEDIA_UPDATE", "userId": "alice5", "video": True})
    await b3.recv()
    await b3.ws.close()
    flow.server.wait_log("p2p.grace", user="bob5")
    b4 = await flow.client("/")
    await b4.recv()
    await b4.send({"route": "RECONNECT", "userId": "bob5"})
    await b4.recv()
    await a.recv()
    await a.send({"route": "UPDATE_OFFER", "userId": "alice5", "sdp": "o2"})
    await b4.recv()
    await b4.recv()
    await flow.close_all()


async def p2p_errors(flow):
    """Example 6 and 7: RECONNECT failures, every route's error frame, and
    frames that are not the protocol."""
    x = await flow.client("/")
    await x.recv()
    for frame in [
            {"route": "RECONNECT"}, {"route": "RECONNECT", "userId": "ghost"},
            {"route": "ADD_USER", "name": "NoId"},
            {"route": "OFFER", "userId": "nobody"}, {"route": "OFFER"},
            {"route": "ADD_ICE", "iceParams": [1]},
            {"route": "MEDIA_UPDATE", "video": True},
            {"route": "DECLINE", "userId": "nobody"},
            {"route": "ANSWER", "userId": "nobody", "answer": 1},
            {"route": "SWAP_ICE", "userId": "nobody"},
            {"route": "SET_REMOTE_STREAM_ID", "userId": "nobody",
             "kind": "audio", "streamId": "s"},
            "not json", "null", "[1]", '{"route":"NOPE"}', "ping"]:
        await x.send(frame)
        await x.recv()
    await x.send({"route": "ADD_USER", "userId": "alice7", "name": "Alice"})
    await x.send({"route": "RECONNECT", "userId": "alice7"})
    await x.recv()
    await x.send({"route": "OFFER", "userId": "alice7",
                  "candidates": ["alice7"], "sdp": "me"})
    await x.recv()
    await flow.close_all()


FLOWS = {"call": call, "queued-offer": queued_offer, "takeover": takeover,
         "addressing": addressing, "errors": errors,
         "p2p-call": p2p_call, "p2p-reject-cancel": p2p_reject_and_cancel,
         "p2p-waiting-list": p2p_waiting_list,
         "p2p-devices-reconnect": p2p_devices_and_reconnect,
         "p2p-errors": p2p_errors}


async def record(name):
    path = os.path.join(HERE, ("%s.jsonl" if name.startswith("p2p-")
                               else "signal-%s.jsonl") % name)
    if os.path.exists(path):
        os.unlink(path)
    server = Server("--trace", path)
    try:
        await FLOWS[name](Flow(server))
    finally:
        assert server.stop() == 0
    print("recorded", path)


if __name__ == "__main__":
    for name in sys.argv[1:] or FLOWS:
        asyncio.run(record(name))
