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

    async def client(self):
        c = await Client.connect(self.server)
        self.clients.append(c)
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


FLOWS = {"call": call, "queued-offer": queued_offer, "takeover": takeover,
         "addressing": addressing, "errors": errors}


async def record(name):
    path = os.path.join(HERE, "signal-%s.jsonl" % name)
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
