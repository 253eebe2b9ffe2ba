#!/usr/bin/python3
"""TURN credentials from the server, against a real coturn.

Debian's coturn runs on 127.0.0.1 (free ports, no other network) with
use-auth-secret and the secret the server has (TURN_SECRET). Two headless
Chromium contexts make a call with the demo page's ?relay switch
(iceTransportPolicy "relay"): no media may flow but through coturn, with
the credentials the server handed out. Then the same kind of credential,
once past its expiry, gets no relay from coturn."""

import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chromium import MEDIA_FLAGS, Chromium  # noqa: E402
from harness import Server  # noqa: E402
from test_demo import frames_growing, join, open_demo  # noqa: E402

TURNSERVER = os.environ.get("TURNSERVER", "/usr/bin/turnserver")
SECRET = "homecall-test-secret"

# Asks the server for ICE servers over /signal, then gathers candidates
# with them alone, relay only: {relay: [candidates], errors: [codes],
# username}
GATHER = """(async (wait) => {
  const ws = new WebSocket("ws://" + location.host + "/signal");
  const servers = await new Promise((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({type: "ice-servers"}));
    ws.onmessage = (e) => resolve(JSON.parse(e.data).iceServers);
    ws.onerror = reject;
  });
  ws.close();
  const turn = servers.find((s) => s.username);
  const expiry = Number(turn.username.split(":")[0]);
  if (wait)       // until the credential is past its expiry
    while (Date.now() / 1000 < expiry + 1.5)
      await new Promise((r) => setTimeout(r, 100));
  const pc = new RTCPeerConnection({iceServers: servers,
                                    iceTransportPolicy: "relay"});
  const out = {relay: [], errors: [], username: turn.username, expiry};
  pc.onicecandidateerror = (e) => out.errors.push(e.errorCode);
  const done = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === "complete") resolve();
    };
    setTimeout(resolve, 15000);
  });
  pc.onicecandidate = (e) => {
    if (e.candidate && e.candidate.type === "relay")
      out.relay.push(e.candidate.candidate);
  };
  pc.createDataChannel("probe");
  await pc.setLocalDescription(await pc.createOffer());
  await done;
  out.now = Date.now() / 1000;
  pc.close();
  return out;
})"""


def free_port_pair():
    """A port free on 127.0.0.1 for both UDP and TCP, below the ephemeral
    range (where nobody else is handed ports)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port")


class Coturn:
    """Debian's turnserver on loopback, with use-auth-secret; stopped by
    its pid. Its log goes to a file the test reads."""

    def __init__(self, secret):
        self.dir = tempfile.mkdtemp(prefix="homecall-coturn-")
        self.port = free_port_pair()
        # Relayed addresses: a window of ports below the ephemeral range
        relay_low = random.randint(20000, 30000)
        self.log_path = os.path.join(self.dir, "turn.log")
        self.output = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(
            [TURNSERVER, "-n", "--listening-ip=127.0.0.1",
             "--relay-ip=127.0.0.1", "--listening-port=%d" % self.port,
             "--min-port=%d" % relay_low, "--max-port=%d" % (relay_low + 200),
             "--use-auth-secret", "--static-auth-secret=" + secret,
             "--realm=homecall.test", "--verbose", "--no-tls", "--no-dtls", "--no-cli",
             "--no-rfc5780", "--no-software-attribute", "--fingerprint",
             # the peers are on this host too
             "--allow-loopback-peers",
             "--db=" + os.path.join(self.dir, "turndb"),
             "--pidfile=" + os.path.join(self.dir, "turn.pid"),
             "--log-file=" + self.log_path, "--simple-log",
             "--no-stdout-log"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.output, cwd=self.dir)
        deadline = time.monotonic() + 15
        while "Total General servers" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("coturn did not start:\n" + self.text())
            time.sleep(0.05)

    def text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def url(self):
        return "turn:127.0.0.1:%d?transport=udp" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class TurnTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.turn = Coturn(SECRET)
        self.addCleanup(self.turn.stop)
        self.browser = Chromium(MEDIA_FLAGS)
        self.addCleanup(self.browser.stop)

    async def asyncTearDown(self):
        await self.browser.close()

    def server(self, *args):
        server = Server("--turn-urls", self.turn.url(),
                        "--turn-secret", SECRET, *args)
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0))
        return server

    async def test_call_relayed_through_coturn(self):
        server = self.server()
        browser = self.browser
        await browser.connect()
        word = "relay-badger-17"
        url = "http://127.0.0.1:%d/?relay#%s" % (server.port, word)
        pages = []
        for _ in range(2):
            page = await open_demo(browser, url)
            await join(browser, page)
            pages.append(page)
            if len(pages) == 1:
                await asyncio.to_thread(server.wait_log, "relay.queued",
                                        type="offer", room=word, timeout=20)
        for page in pages:
            state = await browser.wait_value(
                page, "demo.state === 'connected' && demo.state", timeout=40)
            self.assertEqual(state, "connected", await browser.value(
                page, "JSON.stringify({state: demo.state, errors: "
                      "demo.errors})"))
        frames = await frames_growing(browser, pages)
        for first, later in frames:
            self.assertGreater(later, first)
            self.assertGreater(first, 0)
        log = self.turn.text()
        for page in pages:
            # Media took the relay, on credentials the server made
            self.assertEqual(await browser.wait_value(
                page, "demo.route", timeout=10), "relay")
            username = await browser.value(
                page, "demo.iceServers.find((s) => s.username).username")
            expiry, user = username.split(":")
            self.assertAlmostEqual(int(expiry), time.time() + 86400,
                                   delta=120)
            self.assertRegex(user, "^[0-9a-f]{16}$")
            for request in ("ALLOCATE", "CREATE_PERMISSION"):
                self.assertRegex(log, r"user <%s>: incoming packet %s "
                                      r"processed, success"
                                 % (re.escape(username), request))

    async def test_expired_credentials_are_refused(self):
        server = self.server("--turn-ttl", "3s")
        browser = self.browser
        await browser.connect()
        page = await open_demo(browser, "http://127.0.0.1:%d/" % server.port)
        # Fresh: coturn relays
        fresh = await browser.promise(page, GATHER + "(false)")
        self.assertTrue(fresh["relay"], fresh)
        # Past its expiry: no relay, and coturn says why
        stale = await browser.promise(page, GATHER + "(true)")
        self.assertGreater(stale["now"], stale["expiry"] + 1)
        self.assertEqual(stale["relay"], [], stale)
        self.assertIn(401, stale["errors"], stale)
        # coturn's words for a username whose time is up
        self.assertIn("check_stun_auth: Cannot find credentials of user "
                      "<%s>" % stale["username"], self.turn.text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
