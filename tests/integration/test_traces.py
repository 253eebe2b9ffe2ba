#!/usr/bin/python3
"""The recorded traces of tests/traces/ replay against the real server, in
one process and in a split deployment (rooms + notifier, two gateways);
a trace recorded from one deployment replays identically against the
other; and a replay that meets a different answer says where and fails."""

import glob
import os
import subprocess
import sys
import tempfile
import unittest

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
