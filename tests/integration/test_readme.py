#!/usr/bin/python3
"""The documented commands for a split deployment with two gateways
(docs/deploy.md), watching it with homecall-tap, and recording and
replaying a trace (docs/operations.md), run as written (ports swapped for
free ones, build/ for the build directory) and do what the docs say."""

import asyncio
import glob
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, TIMEOUT, BARRIER_ROOM  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.dirname(BINARY)


def readme_block(name):
    """Commands of the sh block after <!-- readme-test: name --> (in the
    README or a docs/ file, exactly once), each as (argv, background)."""
    blocks = []
    for path in [os.path.join(TOP, "README.md")] + sorted(
            glob.glob(os.path.join(TOP, "docs", "*.md"))):
        with open(path, encoding="utf-8") as f:
            blocks += re.findall(
                r"<!-- readme-test: %s -->\n```sh\n(.*?)```" % name,
                f.read(), re.S)
    assert len(blocks) == 1, "%d blocks named %s" % (len(blocks), name)
    block = blocks[0]
    block = block.replace("\\\n", " ")
    commands = []
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        background = line.endswith("&")
        commands.append((shlex.split(line.rstrip("&")), background))
    return commands


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Commands:
    """Runs README commands with ports mapped to free ones."""

    def __init__(self, test, tmp):
        self.test = test
        self.tmp = tmp
        self.ports = {}
        self.procs = []
        self.logs = {}

    def port(self, readme_port):
        if readme_port not in self.ports:
            self.ports[readme_port] = free_port()
        return self.ports[readme_port]

    def argv(self, words):
        out = []
        for word in words:
            #  The README's own words only: a checkout may itself live
            #  under /tmp, so its paths are put in after this
            word = word.replace("/tmp/", self.tmp + "/")
            word = re.sub(r"(?<=:)(\d{4,5})\b",
                          lambda m: str(self.port(m.group(1))), word)
            if re.fullmatch(r"\d{4,5}", word):
                word = str(self.port(word))
            word = re.sub(r"^build/", BUILD + "/", word)
            out.append(word)
        if out[0] == BINARY:
            out += ["--ws-host", "127.0.0.1", "--log-format", "json"]
        return out

    def start(self, words):
        argv = self.argv(words)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        lines = []
        self.logs[proc.pid] = lines
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=lambda s=stream: [lines.append(x)
                                                     for x in s],
                             daemon=True).start()
        self.procs.append(proc)
        return proc

    def run(self, words):
        return subprocess.run(self.argv(words), capture_output=True,
                               text=True, timeout=60)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
            self.test.assertIn(code, (0, -signal.SIGTERM))


async def until_linked(port):
    """Waits until the gateway on port takes clients and rooms answers."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            ws = await websockets.connect("ws://127.0.0.1:%d/signal" % port)
        except (OSError, websockets.WebSocketException):
            await asyncio.sleep(0.05)
            continue
        await ws.send(json.dumps({"type": "offer", "room": BARRIER_ROOM,
                                  "sdp": "x"}))
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        await ws.close()
        return
    raise AssertionError("gateway on %d never took clients" % port)


async def call(port_a, port_b, room):
    """alice on one gateway, bob on the other: an offer and an answer."""
    alice = await websockets.connect("ws://127.0.0.1:%d/signal" % port_a)
    bob = await websockets.connect("ws://127.0.0.1:%d/signal" % port_b)
    await alice.send(json.dumps({"type": "join", "room": room,
                                 "user": "alice"}))
    await alice.send(json.dumps({"type": "offer", "room": room,
                                 "sdp": "v=0 a"}))
    # The offer waits in the room (queued) before bob comes: alice's
    # barrier's answer says rooms has handled it
    await alice.send(json.dumps({"type": "offer", "room": BARRIER_ROOM,
                                 "sdp": "x"}))
    await asyncio.wait_for(alice.recv(), TIMEOUT)
    await bob.send(json.dumps({"type": "join", "room": room, "user": "bob"}))
    offer = json.loads(await asyncio.wait_for(bob.recv(), TIMEOUT))
    await bob.send(json.dumps({"type": "answer", "room": room,
                               "sdp": "v=0 b"}))
    answer = json.loads(await asyncio.wait_for(alice.recv(), TIMEOUT))
    await alice.close()
    await bob.close()
    return offer, answer


class Readme(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.commands = Commands(self, self.tmp.name)

    def tearDown(self):
        self.commands.stop()
        self.tmp.cleanup()

    async def split(self):
        """The split deployment block; returns the two WebSocket ports."""
        block = readme_block("split")
        self.assertEqual([b for _, b in block], [True, True, True])
        self.assertEqual(sum("gateway,notifier" in w for w, _ in block), 2)
        for words, _ in block:
            self.commands.start(words)
        ports = [self.commands.port(p) for p in ("5555", "5565")]
        for port in ports:
            await until_linked(port)
        return ports

    async def test_split_deployment_with_two_gateways(self):
        ports = await self.split()
        offer, answer = await call(ports[0], ports[1], "readme")
        self.assertEqual(offer, {"type": "offer", "room": "readme",
                                 "from": "alice", "sdp": "v=0 a"})
        self.assertEqual(answer["from"], "bob")

    async def test_watching_it_with_homecall_tap(self):
        ports = await self.split()
        [(words, background)] = readme_block("tap")
        tap = self.commands.start(words)
        lines = self.commands.logs[tap.pid]
        # Subscriptions travel asynchronously: connect until the tap has
        # seen a connection from each gateway
        gateways = set()
        for _ in range(200):
            gateways = {json.loads(x)["gateway"] for x in list(lines)
                        if '"topic":"conn.open"' in x}
            if len(gateways) == 2:
                break
            for port in ports:
                ws = await websockets.connect(
                    "ws://127.0.0.1:%d/signal" % port)
                await ws.close()
            await asyncio.sleep(0.02)
        self.assertEqual(len(gateways), 2)
        await call(ports[0], ports[1], "watched")
        deadline = time.monotonic() + TIMEOUT
        wanted = {"room.join", "relay.queued", "relay.delivered",
                  "relay.forwarded", "conn.close", "room.leave"}
        while time.monotonic() < deadline:
            events = [json.loads(x) for x in list(lines)]
            seen = {e["topic"] for e in events if e.get("room") == "watched"
                    or e["topic"].startswith("conn.")}
            if wanted <= seen:
                break
            await asyncio.sleep(0.05)
        self.assertLessEqual(wanted, seen)
        self.assertTrue(all(e["topic"].split(".")[0] in
                            ("conn", "room", "relay", "error")
                            for e in events))

    async def test_recording_and_replaying_a_trace(self):
        block = readme_block("trace")
        (server_words, background), (replay_words, _) = block
        self.assertTrue(background)
        self.commands.start(server_words)
        port = self.commands.port("5555")
        await until_linked(port)
        await call(port, port, "traced")
        trace = os.path.join(self.tmp.name, "homecall.trace")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with open(trace) as f:
                if f.read().count('"dir":"close"') >= 3:
                    break
            await asyncio.sleep(0.05)
        result = self.commands.run(replay_words)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(" 0 differences", result.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
