#!/usr/bin/python3
"""The benchmarks cannot rot: each runs for a second or two at a tiny load
against a real server (homecall, the bare relay, the rooms actor alone)
and must print its figures: JSON that parses, counts above zero. Nothing
here is about speed (docs/performance.md)."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import BINARY, Server  # noqa: E402

BUILD = os.path.dirname(BINARY)
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHORT = ["--duration", "1", "--warmup", "0.2", "--pairs", "2"]


def run(*args, timeout=60):
    """Runs a program of the build; returns its JSON line, parsed."""
    done = subprocess.run([os.path.join(BUILD, args[0]), *args[1:]],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (args, done.returncode, done.stderr)
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert done.stderr.strip(), "no human line"
    return json.loads(lines[0])


class Bench(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "0", "--max-connections-per-ip",
                            "0", "--log-level", "info")
        cls.url = "ws://127.0.0.1:%d" % cls.server.port
        cls.pid = str(cls.server.proc.pid)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def bench(self, *args):
        return run("homecall-bench", "--url", self.url, "--pid", self.pid,
                   *args)

    def assert_relayed(self, result, connected):
        self.assertEqual(result["connected"], connected)
        self.assertEqual(result["connect_failures"], 0)
        self.assertGreater(result["relayed"], 0)
        self.assertGreater(result["server"]["cpu_us_per_msg"], 0)
        self.assertTrue(result["server"]["threads"])

    def test_closed_loop_in_both_dialects(self):
        for dialect in ("signal", "p2p"):
            with self.subTest(dialect=dialect):
                result = self.bench("--dialect", dialect, *SHORT)
                self.assert_relayed(result, 4)
                self.assertGreater(result["round_trips"], 0)
                self.assertGreater(result["rtt_us"]["p50"], 0)

    def test_open_loop_with_idle_connections(self):
        result = self.bench("--mode", "open", "--rate", "200", "--idle", "6",
                            *SHORT)
        self.assert_relayed(result, 10)
        self.assertGreater(result["offered"], 0)
        self.assertGreater(result["latency_us"]["count"], 0)
        self.assertGreater(result["send_late_us"]["count"], 0)

    def test_idle(self):
        result = self.bench("--mode", "idle", "--idle", "20", "--duration",
                            "1", "--ping-interval", "30")
        self.assertEqual(result["connected"], 20)
        self.assertEqual(result["drops"], 0)
        self.assertGreater(result["connect_per_s"], 0)
        self.assertGreater(result["server"]["rss_bytes"], 0)
        self.assertIn("cpu_us_per_conn_per_ping", result["server"])

    def test_bare_relay(self):
        relay = subprocess.Popen([os.path.join(BUILD, "bare_relay"),
                                  "--port", "0"], stdout=subprocess.PIPE,
                                 text=True)
        try:
            port = int(relay.stdout.readline().split()[-1])
            result = run("homecall-bench", "--url",
                         "ws://127.0.0.1:%d" % port, "--pid", str(relay.pid),
                         *SHORT)
            self.assert_relayed(result, 4)
        finally:
            relay.terminate()
            relay.stdout.close()
            self.assertEqual(relay.wait(10), 0)

    def test_rooms_feed(self):
        result = run("rooms_feed", "--pairs", "5", "--duration", "1")
        self.assertGreater(result["relayed"], 0)
        self.assertGreater(result["rooms_ceiling_per_s"], 0)

    def test_idle_curve(self):
        done = subprocess.run([os.path.join(TOP, "tests", "bench",
                                            "idle_curve.sh"), "--build", BUILD,
                               "--duration", "1", "20"], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"\n\| 20 \| \d+ \| 0 \| ")

    def script(self, name, timeout):
        """Runs tests/bench/NAME --smoke; returns what it printed."""
        done = subprocess.run([os.path.join(TOP, "tests", "bench", name),
                               "--smoke", "--build", BUILD],
                              capture_output=True, text=True, timeout=timeout)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def test_compare_smoke(self):
        done = self.script("compare.sh", 120)
        self.assertIn("| bare lws-on-libev relay | ", done.stdout)
        self.assertIn("| homecall, defaults (LOG_LEVEL=info) | ", done.stdout)

    def test_open_loop_smoke(self):
        done = self.script("open_loop.sh", 60)
        self.assertRegex(done.stdout, r"\| bare lws-on-libev relay \| \d+ / ")
        self.assertRegex(done.stdout,
                         r"\| homecall, defaults \(LOG_LEVEL=info\) \| \d+ / ")


if __name__ == "__main__":
    unittest.main()
