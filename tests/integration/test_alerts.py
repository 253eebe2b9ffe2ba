#!/usr/bin/python3
"""Telegram alerts against the real server and a fake Bot API on loopback
(fake_telegram.py): what is sent, to whom, how it looks, and how the
notifier behaves when the API refuses, fails, talks garbage or hangs."""

import asyncio
import html
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, TIMEOUT, Client, Server  # noqa: E402
from fake_telegram import FakeTelegram, server_error, too_many  # noqa: E402

TOKEN = "987654321:AAH-fake_Token_for_tests_0123456789"
CHAT = 424242
HOST = socket.gethostname()
SDP = "v=0\r\no=- 7781 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
# The clock tolerance for "not before": timers fire a little early or late
# Times are when the fake server got each request: on a loaded machine one
# arrival can be late by more than the next, so a gap may look shorter
EARLY = 0.15


def count_of(text):
    """The ×N of a merged message (1 when there is none)."""
    found = re.search("\u00d7(\\d+) in the last \\d+ s", text)
    return int(found.group(1)) if found else 1


class AlertTest(unittest.TestCase):
    """A fake Bot API per test, and helpers to start servers against it."""

    def setUp(self):
        self.fake = FakeTelegram(TOKEN)
        self.servers = []
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        codes = [server.stop() for server in self.servers]
        self.fake.stop()
        self.assertEqual(codes, [0] * len(codes), "server exit codes")
        self.tmp.cleanup()
        for server in self.servers:
            for line in server.lines:
                self.assertNotIn(TOKEN, line)

    def env(self, **extra):
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_IDS": str(CHAT),
               "TELEGRAM_API_URL": self.fake.url,
               "TELEGRAM_INTERVAL": "100ms", "TELEGRAM_TIMEOUT": "5s",
               "TELEGRAM_CONNECT_TIMEOUT": "2s",
               "TELEGRAM_STATE_FILE": os.path.join(self.tmp.name,
                                                   "chats.json")}
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def server(self, *args, listening=True, ready="gateway.listening",
               **env):
        server = Server(*args, env=self.env(**env), listening=listening,
                        ready=ready)
        self.servers.append(server)
        return server

    def rooms_endpoint(self):
        return "ipc://" + os.path.join(self.tmp.name, "rooms")

    def link(self, endpoint):
        """A raw ZeroMQ peer on rooms' endpoint, as a broken gateway."""
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        self.addCleanup(sock.close)
        return sock

    def started(self):
        """The server.started message, which every server sends first."""
        return self.fake.wait_sends(1, TIMEOUT, contains="server.started")[0]


class WhatIsSent(AlertTest):
    def test_rooms_error_sends_one_escaped_message_per_chat(self):
        # A real operator error: rooms cannot bind its endpoint, so the
        # server cannot start. Its path holds characters HTML must escape.
        bad = os.path.join(self.tmp.name, "missing", "a<b>&c")
        proc = subprocess.run(
            [BINARY, "--ws-host", "127.0.0.1", "--ws-port", "0",
             "--log-format", "json", "--rooms-endpoint", "ipc://" + bad],
            env=dict(os.environ, **self.env(TELEGRAM_CHAT_IDS="%d,-1001" %
                                            CHAT)),
            stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 1)
        lines = proc.stderr.decode().splitlines()
        self.assertTrue(any('"event":"rooms.bind_failed"' in line
                            for line in lines), lines)
        for chat in (CHAT, -1001):
            sent = self.fake.sends(chat=chat, contains="rooms.bind_failed")
            self.assertEqual(len(sent), 1, self.fake.requests)
            body = sent[0]["body"]
            self.assertEqual(body["parse_mode"], "HTML")
            self.assertEqual(sent[0]["http"], "POST")
            self.assertEqual(sent[0]["content_type"], "application/json")
            text = body["text"]
            self.assertTrue(text.startswith(
                "\U0001F534 <b>error</b> <b>rooms.bind_failed</b>\n"
                "actor: rooms\nhost: %s\n" % html.escape(HOST)), text)
            self.assertIn("endpoint: ipc://%s/missing/a&lt;b&gt;&amp;c\n"
                          % self.tmp.name, text)
            self.assertIn("why: No such file or directory", text)
            self.assertNotIn("a<b>", text)
            # ...and the server's stop, after it
            stop = self.fake.sends(chat=chat, contains="server.stopping")
            self.assertEqual(len(stop), 1)
            self.assertIn("why: the rooms actor could not start",
                          stop[0]["body"]["text"])
        self.assertEqual(len(self.fake.calls("sendMessage")), 4)
        # No subscription secret: the bot is never even asked for updates
        self.assertEqual(self.fake.calls("getUpdates"), [])
        for line in lines:
            self.assertNotIn(TOKEN, line)

    def test_start_and_stop_are_sent_and_nothing_else_by_default(self):
        server = self.server()
        started = self.started()["body"]["text"]
        self.assertTrue(started.startswith(
            "\U0001F7E2 <b>info</b> <b>server.started</b>\nactor: server\n"))
        self.assertIn("version: ", started)
        server.stop()
        stopping = self.fake.sends(contains="server.stopping")
        self.assertEqual(len(stopping), 1)
        self.assertIn("why: SIGTERM", stopping[0]["body"]["text"])
        self.assertEqual(len(self.fake.calls("sendMessage")), 2)
        self.assertEqual(server.find("telegram.unsent"), [])

    def test_the_stop_is_sent_when_the_notifier_stops_at_once(self):
        # A notifier alone has nothing to wait for between the stop record
        # and its own $TERM, while that record is still in the event bus:
        # it used to exit without sending it about one stop in six
        for attempt in range(12):
            server = self.server("--actors", "notifier",
                                 ready="notifier.ready")
            self.fake.wait_sends(attempt + 1, TIMEOUT,
                                 contains="server.started")
            self.assertEqual(server.stop(), 0)
            self.assertEqual(
                len(self.fake.sends(contains="server.stopping")),
                attempt + 1, "stop %d of 12" % (attempt + 1))

    def test_min_level_warn_skips_start_and_stop(self):
        server = self.server(TELEGRAM_MIN_LEVEL="warn",
                             CLIENT_ERROR_BURST=2)

        async def run():
            client = await Client.connect(server)
            for _ in range(2):
                await client.send({"type": "error", "message": "boom"})
            await client.barrier()
            await client.close()
        asyncio.run(run())
        burst = self.fake.wait_sends(1, TIMEOUT, contains="client.errors")
        self.assertIn("count: 2\n", burst[0]["body"]["text"])
        server.stop()
        self.assertEqual(len(self.fake.calls("sendMessage")), 1)

    def test_no_token_means_log_only_said_once(self):
        server = Server(env={"TELEGRAM_API_URL": self.fake.url,
                             "TELEGRAM_CHAT_IDS": str(CHAT),
                             "TELEGRAM_BOT_TOKEN": "", "TG_API_KEY": ""})
        self.servers.append(server)
        off = server.wait_log("telegram.off")
        self.assertIn("alerts are off", off["why"])
        server.stop()
        self.assertEqual(len(server.find("telegram.off")), 1)
        self.assertEqual(server.find("telegram.on"), [])
        self.assertEqual(self.fake.requests, [])

    def test_original_tg_api_key_works_as_the_token(self):
        # TELEGRAM_BOT_TOKEN= left empty (as in the example settings) does
        # not hide the original's variable
        self.server(TELEGRAM_BOT_TOKEN="", TG_API_KEY=TOKEN)
        self.started()

    def test_internal_failure_is_alerted(self):
        # The log directory disappears (a wrong logrotate rule): reopening
        # fails, an error the operator must hear about
        logdir = os.path.join(self.tmp.name, "logs")
        os.mkdir(logdir)
        server = self.server("--log-file", os.path.join(logdir, "h.log"))
        self.started()
        os.rename(logdir, logdir + ".gone")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_log("notifier.reopen_failed")
        sent = self.fake.wait_sends(1, TIMEOUT,
                                    contains="notifier.reopen_failed")
        self.assertIn("why: No such file or directory",
                      sent[0]["body"]["text"])


class UnderPressure(AlertTest):
    def test_a_burst_is_merged_with_a_count(self):
        endpoint = self.rooms_endpoint()
        server = self.server("--rooms-endpoint", endpoint,
                             TELEGRAM_MERGE_WINDOW="2s")
        self.started()
        link = self.link(endpoint)
        for _ in range(20):
            link.send(b"only one part")
        self.assertEqual(len(server.wait_count("bus.malformed", 20)), 20)

        def malformed():
            return self.fake.sends(contains="bus.malformed")
        sent = self.fake.wait(
            lambda: sum(count_of(r["body"]["text"]) for r in malformed())
            >= 20 and malformed(), 5)
        self.assertLessEqual(len(sent), 2)
        self.assertEqual(sum(count_of(r["body"]["text"]) for r in sent), 20)
        self.assertIn("why: wrong number of parts", sent[0]["body"]["text"])
        # The same problem again within the window: one message, at the
        # end of the window, with the count
        last = sent[-1]["time"]
        for _ in range(5):
            link.send(b"only one part")
        more = self.fake.wait(lambda: len(malformed()) > len(sent)
                              and malformed(), 5)[len(sent):]
        self.assertEqual(len(more), 1)
        self.assertGreaterEqual(more[0]["time"] - last, 2 - EARLY)
        self.assertIn("\u00d75 in the last 2 s", more[0]["body"]["text"])
        print("\n  burst: %d sendMessage for 20 records, then 1 for 5 more "
              "%.2f s later" % (len(sent), more[0]["time"] - last))

    def test_rate_limits_per_chat(self):
        endpoint = self.rooms_endpoint()
        server = self.server("--rooms-endpoint", endpoint,
                             TELEGRAM_INTERVAL="300ms", TELEGRAM_PER_MINUTE=4)
        self.started()
        # Five different problems on the link, each its own alert
        link = self.link(endpoint)
        link.send(b"one part")
        link.send_multipart([b"WHAT", b"\x80"])
        for verb in (b"SIG", b"OPEN", b"CLOSE"):
            link.send_multipart([verb, b"\xc1 not msgpack"])
        self.assertEqual(len(server.wait_count("bus.malformed", 5)), 5)
        sent = self.fake.wait_sends(4, 5)
        times = [r["time"] for r in sent]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Sends start 300 ms apart; one arrival can be late (a loaded
        # machine has delayed one by 0.26 s) and shorten its next gap, so
        # the whole span is what shows the spacing
        self.assertGreaterEqual(times[-1] - times[0], 3 * 0.3 - EARLY, gaps)
        # The fifth and sixth messages would break 4 a minute: they wait,
        # and at the stop (whose grace is shorter than that) stay unsent
        server.stop()
        self.assertEqual(len(self.fake.calls("sendMessage")), 4)
        unsent = server.find("telegram.unsent")
        self.assertEqual(len(unsent), 1)
        self.assertEqual(unsent[0]["count"], 3)    # 2 + server.stopping
        print("\n  rate limit: gaps between messages %s s, 4 per minute"
              % ", ".join("%.2f" % g for g in gaps))

    def test_429_waits_retry_after(self):
        self.fake.script = [too_many(1)]
        server = self.server()
        sent = self.fake.wait_sends(2, 5, contains="server.started")
        gap = sent[1]["time"] - sent[0]["time"]
        self.assertGreaterEqual(gap, 1 - EARLY)
        self.assertLess(gap, 2.5)
        self.assertEqual(sent[0]["body"], sent[1]["body"])
        retry = server.wait_log("telegram.retry", status=429)
        self.assertEqual(retry["delay_ms"], 1000)
        self.assertEqual(retry["chat"], CHAT)
        print("\n  429 retry_after=1: resent after %.2f s" % gap)

    def test_500_and_bad_replies_back_off_exponentially(self):
        # 500, then a 200 that is not JSON, then a reply of 4 MiB: each is
        # retried after twice the delay of the one before, and survived
        self.fake.script = [server_error(), "garbage", "huge"]
        server = self.server(TELEGRAM_BACKOFF_MIN="200ms",
                             TELEGRAM_BACKOFF_MAX="10s")
        sent = self.fake.wait_sends(4, 10, contains="server.started")
        times = [r["time"] for r in sent]
        gaps = [b - a for a, b in zip(times, times[1:])]
        for gap, expect in zip(gaps, (0.2, 0.4, 0.8)):
            self.assertGreaterEqual(gap, expect - EARLY, gaps)
            self.assertLess(gap, expect + 1.0, gaps)
        retries = server.wait_count("telegram.retry", 3)
        self.assertEqual([r["delay_ms"] for r in retries], [200, 400, 800])
        self.assertEqual([r["status"] for r in retries], [500, 200, 200])
        self.assertIn("Internal Server Error", retries[0]["why"])
        self.assertIn("not JSON", retries[1]["why"])
        self.assertIn("too large", retries[2]["why"])
        server.wait_log("telegram.sent")
        print("\n  backoff: retries after %s s" % ", ".join(
            "%.2f" % g for g in gaps))

    def test_a_refusal_for_good_is_not_retried(self):
        self.fake.script = [(400, {"ok": False, "error_code": 400,
                                   "description": "Bad Request: chat not "
                                   "found"})]
        server = self.server()
        failed = server.wait_log("telegram.failed")
        self.assertEqual(failed["status"], 400)
        self.assertIn("chat not found", failed["why"])
        server.stop()
        # The next alert (the stop) still went out; the refused one did not
        self.assertEqual(len(self.fake.sends(contains="server.started")), 1)
        self.assertEqual(len(self.fake.sends(contains="server.stopping")), 1)

    def test_full_queue_drops_the_oldest_and_says_so(self):
        endpoint = self.rooms_endpoint()
        self.fake.script = ["hang"]     # holds server.started in flight
        server = self.server("--rooms-endpoint", endpoint,
                             TELEGRAM_QUEUE_MAX=2, TELEGRAM_TIMEOUT="1s")
        self.fake.wait(lambda: self.fake.hanging, 5)
        link = self.link(endpoint)
        for verb in (b"SIG", b"OPEN", b"CLOSE", b"WHAT"):
            link.send_multipart([verb, b"\xc1"])
        server.wait_count("bus.malformed", 4)
        # Queue of 2: SIG and OPEN make room for CLOSE and WHAT; then
        # server.started comes back from its timeout as the oldest, and
        # goes too
        dropped = server.wait_count("telegram.dropped", 3)
        self.assertEqual(sum(d["count"] for d in dropped), 3, dropped)
        sent = self.fake.wait_sends(3, 10)
        texts = [r["body"]["text"] for r in sent[1:]]
        self.assertIn("verb: CLOSE", texts[0])
        self.assertIn("3 earlier alerts were dropped (queue full)", texts[0])
        self.assertIn("verb: WHAT", texts[1])     # not a gateway, at that
        self.assertIn("why: not a gateway", texts[1])
        self.assertNotIn("dropped", texts[1])


class NeverInTheWay(AlertTest):
    async def round_trips(self, alice, bob, n):
        times = []
        for i in range(n):
            start = time.perf_counter()
            await alice.send({"type": "offer", "sdp": SDP})
            self.assertEqual((await bob.recv())["type"], "offer")
            await bob.send({"type": "answer", "sdp": SDP})
            self.assertEqual((await alice.recv())["type"], "answer")
            times.append(time.perf_counter() - start)
        return times

    def test_a_hanging_api_does_not_delay_signaling(self):
        server = self.server("--rate-limit", "0", CLIENT_ERROR_BURST=3,
                             TELEGRAM_TIMEOUT="60s")
        self.started()

        async def run():
            alice = await Client.joined(server, "h1", "alice")
            bob = await Client.joined(server, "h1", "bob")
            await self.round_trips(alice, bob, 20)     # warm up
            baseline = await self.round_trips(alice, bob, 200)
            # The API hangs from now on; a burst of client errors makes an
            # alert whose request hangs
            self.fake.default = "hang"
            for _ in range(3):
                await alice.send({"type": "error", "message": "x"})
            await asyncio.get_running_loop().run_in_executor(
                None, self.fake.wait, lambda: self.fake.hanging, 5)
            hanging = await self.round_trips(alice, bob, 200)
            self.assertTrue(self.fake.hanging)      # still hanging
            await alice.close()
            await bob.close()
            return baseline, hanging
        baseline, hanging = asyncio.run(run())
        base_p50 = statistics.median(baseline)
        hang_p50 = statistics.median(hanging)
        base_p95 = sorted(baseline)[189]
        hang_p95 = sorted(hanging)[189]
        print("\n  relay round trip (offer+answer), 200 each: baseline "
              "p50 %.3f ms p95 %.3f ms; API hanging p50 %.3f ms p95 %.3f ms"
              % (base_p50 * 1000, base_p95 * 1000, hang_p50 * 1000,
                 hang_p95 * 1000))
        self.assertLess(hang_p50, max(3 * base_p50, base_p50 + 0.005))
        # And the stop is not held up by it beyond the notifier's grace
        start = time.monotonic()
        self.assertEqual(server.stop(), 0)
        took = time.monotonic() - start
        print("  stop with the API hanging: %.2f s" % took)
        self.assertLess(took, 2 + 2.0)

    def test_the_token_never_reaches_a_log_line(self):
        # The token shows up everywhere it could: in a client's error
        # report, in the API's error descriptions, in the log file
        leak = "Bad Request: bot%s/sendMessage is wrong" % TOKEN
        self.fake.script = [server_error(),
                            (500, "token %s" % TOKEN),
                            (400, {"ok": False, "description": leak})]
        logfile = os.path.join(self.tmp.name, "h.log")
        server = self.server("--log-file", logfile, CLIENT_ERROR_BURST=1,
                             TELEGRAM_BACKOFF_MIN="50ms")

        async def run():
            client = await Client.connect(server)
            await client.send({"type": "error", "message": "my " + TOKEN})
            await client.barrier()
            await client.close()
        asyncio.run(run())
        failed = server.wait_log("telegram.failed")
        self.assertIn("bot<redacted>/sendMessage", failed["why"])
        report = server.wait_log("client.error")
        self.assertEqual(report["message"], "my <redacted>")
        self.fake.wait_sends(1, 5, contains="client.errors")
        server.stop()
        with open(logfile, encoding="utf-8") as f:
            lines = f.read().splitlines() + server.lines
        self.assertGreater(len(lines), 20)
        for line in lines:
            self.assertNotIn(TOKEN, line)
            self.assertNotIn(TOKEN.split(":")[1], line)
        for request in self.fake.requests:
            self.assertNotIn(TOKEN, json.dumps(request["body"]))


class Subscriptions(AlertTest):
    def test_start_with_the_secret_subscribes_and_survives_restart(self):
        state = os.path.join(self.tmp.name, "chats.json")
        env = dict(TELEGRAM_CHAT_IDS="", TELEGRAM_SUBSCRIBE_SECRET="s3cret",
                   TELEGRAM_POLL_TIMEOUT="1s", CLIENT_ERROR_BURST=1)
        server = self.server(**env)
        self.fake.add_update(777, "/start s3cret")
        self.fake.add_update(888, "/start wrong")
        self.fake.add_update(999, "hello")
        self.fake.add_update(555, "/start")
        server.wait_log("telegram.subscribed", chat=777)
        server.wait_log("telegram.subscribe_refused", chat=888)
        server.wait_log("telegram.subscribe_refused", chat=555)
        hello = self.fake.wait_sends(1, 5, chat=777)[0]["body"]["text"]
        self.assertIn("Subscribed to HomeCall alerts", hello)

        async def run():
            client = await Client.connect(server)
            await client.send({"type": "error", "message": "x"})
            await client.barrier()
            await client.close()
        asyncio.run(run())
        self.fake.wait_sends(1, 5, chat=777, contains="client.errors")
        self.assertEqual(server.find("telegram.subscribed", chat=888), [])
        server.stop()
        for chat in (888, 999, 555):
            self.assertEqual(self.fake.sends(chat=chat), [])
        self.assertEqual(len(self.fake.sends(chat=777,
                                             contains="server.stopping")), 1)
        # The secret is a credential too
        for line in server.lines:
            self.assertNotIn("s3cret", line)
        with open(state) as f:
            saved = json.load(f)
        self.assertEqual(saved["chats"], [777])
        self.assertEqual(saved["offset"], self.fake.next_update_id)

        # Restart: 777 gets alerts without asking again; old updates are
        # not read again; /stop ends it
        polls = len(self.fake.calls("getUpdates"))
        server = self.server(**env)
        self.fake.wait_sends(1, 5, chat=777, contains="server.started")
        first = self.fake.wait(lambda: self.fake.calls("getUpdates")[polls:],
                               5)[0]
        self.assertEqual(first["query"]["offset"],
                         [str(self.fake.next_update_id)])
        self.fake.add_update(777, "/stop")
        server.wait_log("telegram.unsubscribed", chat=777)
        server.stop()
        self.assertEqual(
            len(self.fake.sends(chat=777, contains="server.stopping")), 1)
        with open(state) as f:
            self.assertEqual(json.load(f)["chats"], [])

    def test_without_a_secret_nobody_can_subscribe(self):
        server = self.server(TELEGRAM_CHAT_IDS="", TELEGRAM_POLL_TIMEOUT="1s")
        server.wait_log("telegram.no_chats")
        server.stop()
        self.assertEqual(self.fake.requests, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
