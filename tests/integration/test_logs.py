#!/usr/bin/python3
"""The log: JSON lines and text lines, the level filter, the log file and
its reopening on SIGHUP (logrotate), what never appears in a line, and
the actors' thread names."""

import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import time
import unittest

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TIMEOUT, Client, Server  # noqa: E402

SDP = "v=0\r\no=- 31337 2 IN IP4 198.51.100.7\r\ns=-\r\nt=0 0\r\n"
CAND = {"candidate": "candidate:7 1 udp 2122194687 203.0.113.9 61234 typ "
                     "host", "sdpMid": "0", "sdpMLineIndex": 0}
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                       r"(DEBUG|INFO |WARN |ERROR) [a-z]+ [a-z_.]+( |$)")


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def wait_for(predicate, timeout=TIMEOUT):
    """Polls a file-backed condition (files have no change event here)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %ss" % timeout)
        time.sleep(0.02)


class Logs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.server = None

    def tearDown(self):
        if self.server:
            self.assertEqual(self.server.stop(), 0, "server exit code")

    def start(self, *args, **kwargs):
        self.server = Server(*args, **kwargs)
        return self.server

    def test_file_is_reopened_on_sighup(self):
        path = os.path.join(self.tmp.name, "homecall.log")
        server = self.start("--log-file", path)
        wait_for(lambda: any('"gateway.listening"' in line
                             for line in read_lines(path)))
        os.rename(path, path + ".1")        # what logrotate does
        server.proc.send_signal(signal.SIGHUP)
        server.wait_log("notifier.reopened", file=path)

        async def run():
            client = await Client.connect(server)
            await client.send({"type": "join", "room": "r", "user": "late"})
            await client.barrier()
            await client.close()
        asyncio.run(run())
        server.wait_log("room.join", user="late")
        wait_for(lambda: any('"user":"late"' in line
                             for line in read_lines(path)))
        self.assertEqual(server.stop(), 0)
        old, new = read_lines(path + ".1"), read_lines(path)
        # Every line in the files is a JSON record, as on stderr
        for line in old + new:
            json.loads(line)
        self.assertTrue(any('"gateway.listening"' in line for line in old))
        self.assertFalse(any('"user":"late"' in line for line in old))
        self.assertTrue(any('"notifier.reopened"' in line for line in new))
        self.assertFalse(any('"gateway.listening"' in line for line in new))
        # Nothing lost or doubled across the rotation
        self.assertEqual(old + new, server.lines)

    def test_level_filter(self):
        # warn: nothing quieter is written, whatever the actors do
        endpoint = "ipc://" + os.path.join(self.tmp.name, "rooms")
        server = self.start("--log-level", "warn", "--rooms-endpoint",
                            endpoint, listening=False)
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        try:
            sock.send(b"one part")
            server.wait_log("bus.malformed")
        finally:
            sock.close()
        self.assertEqual(server.stop(), 0)
        events = server.events()
        self.assertGreaterEqual(len(events), 1)
        for event in events:
            self.assertIn(event.get("level"), ("warn", "error"), event)

    def test_debug_shows_more_than_info(self):
        async def stray_leave(server):
            client = await Client.connect(server)
            await client.send({"type": "leave"})    # ignored, said in debug
            await client.barrier()
            await client.close()

        seen = {}
        for level in ("info", "debug"):
            server = Server("--log-level", level)
            try:
                asyncio.run(stray_leave(server))
                server.wait_log("conn.close")
            finally:
                self.assertEqual(server.stop(), 0)
            seen[level] = server.events()
        self.assertEqual({e["level"] for e in seen["info"]}, {"info"})
        self.assertTrue(any(e["event"] == "room.leave_ignored"
                            for e in seen["debug"]))

    def test_actor_threads_are_named(self):
        # top -H and perf name the thread that spends the CPU
        server = self.start()
        names = set()
        for task in os.listdir("/proc/%d/task" % server.proc.pid):
            with open("/proc/%d/task/%s/comm" % (server.proc.pid, task)) as f:
                names.add(f.read().strip())
        self.assertLessEqual({"hc-gateway", "hc-rooms", "hc-notifier",
                              "hc-bus"}, names)

    def test_text_format(self):
        server = self.start("--log-format", "text", listening=False)
        with server.cond:
            server.cond.wait_for(lambda: any(" gateway.listening " in line
                                             for line in server.lines),
                                 TIMEOUT)
        self.assertEqual(server.stop(), 0)
        self.assertGreater(len(server.lines), 3)
        for line in server.lines:
            self.assertRegex(line, TEXT_LINE)
        started = [line for line in server.lines if " server.started " in line]
        self.assertEqual(len(started), 1)
        self.assertIn(" INFO  server server.started version=", started[0])
        self.assertTrue(any(line.endswith(" server server.stopping "
                                          "why=SIGTERM")
                            for line in server.lines))

    def test_no_sdp_or_candidate_in_any_line(self):
        path = os.path.join(self.tmp.name, "homecall.log")
        server = self.start("--log-file", path)

        async def run():
            alice = await Client.joined(server, "p", "alice")
            bob = await Client.joined(server, "p", "bob")
            await alice.send({"type": "offer", "sdp": SDP})
            await bob.recv()
            await bob.send({"type": "candidate", "candidate": CAND})
            await alice.recv()
            await alice.send({"type": "offer", "sdp": SDP, "to": "nobody"})
            await alice.send({"type": "candidate", "candidate": "bad",
                              "sdp": 5})
            await alice.send("{\"type\":\"offer\",\"sdp\":" + json.dumps(SDP))
            await alice.barrier()
            await alice.close()
            await bob.close()
        asyncio.run(run())
        server.wait_log("relay.queued")
        self.assertEqual(server.stop(), 0)
        lines = server.lines + read_lines(path)
        self.assertGreater(len(lines), 20)
        for line in lines:
            for secret in ("31337", "198.51.100.7", "203.0.113.9", "61234"):
                self.assertNotIn(secret, line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
