#!/usr/bin/python3
"""The recorded traces of tests/traces/ replay against the real server, in
one process and in a split deployment (rooms + notifier, two gateways);
a trace recorded from one deployment replays identically against the
other; and a replay that meets a different answer says where and fails."""

import asyncio
import glob
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server  # noqa: E402
from split import FAST_LINK, REPLAY, GatewayProcess, RoomsProcess  # noqa: E402

TRACES = sorted(glob.glob(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "traces", "*.jsonl")))


def replay(traces, servers, *args):
    result = subprocess.run(
        [REPLAY, *traces, *args,
         *[a for s in servers for a in ("--url", s.url(""))]],
        capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


class Deployments(unittest.TestCase):
    def setUp(self):
        self.processes = []
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        for process in reversed(self.processes):
            self.assertEqual(process.stop(), 0)
        self.tmp.cleanup()

    def single(self, *args):
        server = Server(*args)
        self.processes.append(server)
        return [server]

    def split(self, *trace_files):
        rooms = RoomsProcess(*FAST_LINK)
        self.processes.append(rooms)
        gateways = []
        for i in range(2):
            args = ("--trace", trace_files[i]) if trace_files else ()
            gateways.append(GatewayProcess(rooms, *FAST_LINK, *args))
            self.processes.append(gateways[-1])
        return gateways

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def assertReplays(self, traces, servers, *args):
        code, output = replay(traces, servers, *args)
        self.assertEqual(code, 0, output)
        self.assertIn(" 0 differences", output)
        return output


class Replay(Deployments):
    def test_there_are_traces_of_every_flow(self):
        names = {os.path.basename(t) for t in TRACES}
        for flow in ("call", "queued-offer", "takeover", "addressing",
                     "errors"):
            self.assertIn("signal-%s.jsonl" % flow, names)
        for flow in ("call", "reject-cancel", "waiting-list",
                     "devices-reconnect", "errors"):
            self.assertIn("p2p-%s.jsonl" % flow, names)

    def test_each_trace_replays_in_one_process(self):
        servers = self.single()
        for trace in TRACES:
            with self.subTest(trace=os.path.basename(trace)):
                self.assertReplays([trace], servers, "--fast")

    def test_each_trace_replays_in_a_split_deployment(self):
        gateways = self.split()
        for trace in TRACES:
            with self.subTest(trace=os.path.basename(trace)):
                self.assertReplays([trace], gateways, "--fast")

    def test_recorded_pacing(self):
        servers = self.single()
        for trace in TRACES:
            if trace.endswith("-call.jsonl"):   # one per dialect, as timed
                with self.subTest(trace=os.path.basename(trace)):
                    self.assertReplays([trace], servers)


class CrossDeployment(Deployments):
    def test_split_recording_replays_in_one_process(self):
        recorded = [self.path("gw0.jsonl"), self.path("gw1.jsonl")]
        self.assertReplays(TRACES, self.split(*recorded), "--fast")
        # Two gateways, one trace each: merged by time, replayed as one
        self.assertTrue(all(os.path.getsize(f) for f in recorded))
        self.assertReplays(recorded, self.single(), "--fast")

    def test_one_process_recording_replays_split(self):
        recorded = self.path("one.jsonl")
        self.assertReplays(TRACES, self.single("--trace", recorded), "--fast")
        self.assertReplays([recorded], self.split(), "--fast")


class Differences(Deployments):
    def test_a_different_answer_is_shown_and_fails(self):
        call = [t for t in TRACES if t.endswith("signal-call.jsonl")][0]
        with open(call) as f:
            lines = f.readlines()
        changed = self.path("changed.jsonl")
        with open(changed, "w") as f:
            done = False
            for line in lines:
                if not done and '"dir":"out"' in line:
                    line = line.replace('"from":"alice"', '"from":"eve"')
                    done = '"eve"' in line
                f.write(line)
        self.assertTrue(done)
        code, output = replay([changed], self.single(), "--fast")
        self.assertEqual(code, 1, output)
        self.assertIn("the frame differs", output)
        self.assertIn('.from: expected "eve", received "alice"', output)
        self.assertIn(" 1 difference", output)

    def test_a_frame_the_trace_does_not_have_is_a_difference(self):
        call = [t for t in TRACES if t.endswith("signal-call.jsonl")][0]
        with open(call) as f:
            lines = f.readlines()
        # Without the record of bob getting alice's offer, the offer that
        # comes is one the trace does not have
        offer = [i for i, line in enumerate(lines) if '"dir":"out"' in line
                 and '"type":"offer"' in line][0]
        dropped = self.path("dropped.jsonl")
        with open(dropped, "w") as f:
            f.writelines(line for i, line in enumerate(lines) if i != offer)
        code, output = replay([dropped], self.single(), "--fast")
        self.assertEqual(code, 1, output)
        # The offer stands where the next frame was expected, and that
        # frame is then one too many
        self.assertIn('expected: {"type":"candidate"', output)
        self.assertIn('received: {"type":"offer"', output)
        self.assertIn('.type: expected "candidate", received "offer"', output)
        self.assertIn("a frame the trace does not have", output)

    def test_unusable_input_exits_2(self):
        bad = self.path("bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"time":"soon"}\n')
        code, output = replay([bad], self.single())
        self.assertEqual(code, 2)
        self.assertIn("line 1", output)


class FakeGateway:
    """A WebSocket server on a free loopback port that answers a replay's
    barriers as the gateway does, and answers {"type":"bytes"} with a
    binary frame and then a text one: the real server never sends binary,
    so this is how a replay meets a binary frame from the server."""

    BINARY = b"\xff\xfe\x00\x01"

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(started,))
        self.thread.start()
        started.wait(10)

    def run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            websockets.serve(self.handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()
        self.server.close()
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.close()

    async def handle(self, ws, path):
        async for message in ws:
            frame = json.loads(message)
            if frame.get("room") == "__replay_barrier__":
                await ws.send(json.dumps({"type": "error",
                                          "code": "not_joined"}))
            elif frame.get("type") == "bytes":
                await ws.send(self.BINARY)
                await ws.send(json.dumps({"type": "after"}))

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        return 0


class BinaryFrames(Deployments):
    def record(self, direction, **fields):
        return json.dumps(dict({
            "time": "2026-11-22T00:00:00.%06dZ" % len(self.records),
            "gateway": "0000000a", "conn": "0000000a00000001",
            "dialect": "signal", "dir": direction}, **fields)) + "\n"

    def test_a_binary_frame_from_the_server_replays(self):
        # The replay reassembles what it receives in one buffer; a binary
        # frame coming first, then text, then binary again must each be
        # compared as they came (and nothing freed that was not allocated)
        self.records = []
        binary = {"frame": "//4AAQ==", "json": False, "encoding": "base64",
                  "binary": True}
        for record in (("open", {"path": "/signal", "peer": "x"}),
                       ("in", {"frame": {"type": "bytes"}}),
                       ("out", binary),
                       ("out", {"frame": {"type": "after"}}),
                       ("in", {"frame": {"type": "bytes"}}),
                       ("out", binary),
                       ("out", {"frame": {"type": "after"}})):
            self.records.append(self.record(record[0], **record[1]))
        trace = self.path("binary.jsonl")
        with open(trace, "w") as f:
            f.writelines(self.records)
        server = FakeGateway()
        self.processes.append(server)
        output = self.assertReplays([trace], [server], "--fast")
        self.assertIn("4 compared", output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
