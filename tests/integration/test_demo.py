#!/usr/bin/python3
"""The demo page at GET /: two people call each other with it.

Two headless Chromium browser contexts (separate profiles, fake camera and
microphone) open http://127.0.0.1:PORT/#WORD and press Join; the first
one's offer waits in the room until the second joins. Decoded video frames
must grow on both sides (getStats), and a hang-up on one side puts the
other back to waiting. DEMO_PAGE=off gives the old 426 on GET /.

DEMO_SCREENSHOT=DIR keeps screenshots of the lobby and of the call."""

import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chromium import MEDIA_FLAGS, Chromium  # noqa: E402
from harness import Server  # noqa: E402
from test_tls import make_certificate  # noqa: E402

# Video frames this page has decoded so far, from the peer connection's
# own statistics
FRAMES_DECODED = """(async () => {
  if (!window.demo || !demo.pc) return -1;
  let frames = 0;
  (await demo.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video")
      frames += r.framesDecoded || 0;
  });
  return frames;
})()"""
SHOTS = os.environ.get("DEMO_SCREENSHOT")


def http_get(url, headers=None):
    """(status, content type, body) of a plain GET; headers (a dict) gets
    the answer's headers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            if headers is not None:
                headers.update(reply.headers)
            return reply.status, reply.headers["content-type"], reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read()


async def open_demo(browser, url, **kwargs):
    """A page with the demo loaded (not the about:blank it starts as)."""
    page = await browser.open(url, context=True, **kwargs)
    loaded = await browser.wait_value(
        page, "!!window.demo && document.readyState === 'complete'")
    assert loaded, "the demo page did not load: " + url
    return page


async def join(browser, page):
    await browser.value(page, "document.getElementById('join').click()")


async def frames_growing(browser, sessions, timeout=30):
    """Waits until every page has decoded frames, then until each has
    decoded more; returns [(first, later)] per page."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    first = [0] * len(sessions)
    while loop.time() < deadline:
        first = [await browser.promise(s, FRAMES_DECODED) for s in sessions]
        if all(f > 0 for f in first):
            break
        await asyncio.sleep(0.25)
    later = list(first)
    while loop.time() < deadline:
        await asyncio.sleep(0.5)
        later = [await browser.promise(s, FRAMES_DECODED) for s in sessions]
        if all(b > a > 0 for a, b in zip(first, later)):
            break
    return list(zip(first, later))


class DemoPage(unittest.TestCase):
    def test_files_are_served_from_memory(self):
        server = Server()
        try:
            base = "http://127.0.0.1:%d" % server.port
            headers = {}
            status, kind, body = http_get(base + "/", headers)
            self.assertEqual(status, 200)
            self.assertEqual(kind, "text/html; charset=utf-8")
            self.assertIn(b"/demo/call.js", body)
            # Its own files only, WebSocket, and in no other site's frame
            # (the calls through it check that the policy lets it work)
            policy = headers["content-security-policy"]
            for part in ("default-src 'none'", "script-src 'self'",
                         "connect-src 'self' ws: wss:",
                         "frame-ancestors 'none'"):
                self.assertIn(part, policy)
            self.assertEqual(headers["x-content-type-options"], "nosniff")
            self.assertEqual(headers["cache-control"], "no-cache")
            status, kind, body = http_get(base + "/demo/call.js")
            self.assertEqual((status, kind),
                             (200, "text/javascript; charset=utf-8"))
            self.assertIn(b'"ice-servers"', body)
            status, kind, _ = http_get(base + "/demo/call.css")
            self.assertEqual((status, kind), (200, "text/css; charset=utf-8"))
            # Other paths are still WebSocket endpoints
            self.assertEqual(http_get(base + "/demo/nothing.js")[0], 426)
            self.assertEqual(http_get(base + "/index.html")[0], 426)
            self.assertEqual(http_get(base + "/healthz")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_demo_page_off_gives_the_old_answer(self):
        server = Server("--demo-page", "off")
        try:
            base = "http://127.0.0.1:%d" % server.port
            for path in ("/", "/demo/call.js", "/demo/call.css"):
                status, kind, body = http_get(base + path)
                self.assertEqual((status, body), (426, b"Upgrade Required\n"),
                                 path)
        finally:
            self.assertEqual(server.stop(), 0)
        server = Server(env={"DEMO_PAGE": "no"})
        try:
            self.assertEqual(
                http_get("http://127.0.0.1:%d/" % server.port)[0], 426)
        finally:
            self.assertEqual(server.stop(), 0)


class DemoCall(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.server = Server()
        self.browser = Chromium(MEDIA_FLAGS)

    async def asyncTearDown(self):
        await self.browser.close()

    def tearDown(self):
        self.browser.stop()
        self.assertEqual(self.server.stop(), 0)

    async def test_two_people_call_with_the_demo_page(self):
        browser = self.browser
        await browser.connect()
        word = "lucky-otter-42"
        url = "http://127.0.0.1:%d/#%s" % (self.server.port, word)
        alice = await open_demo(browser, url, width=1000, height=760)
        # The word comes from the link
        self.assertEqual(await browser.value(
            alice, "document.getElementById('room').value"), word)
        if SHOTS:
            await browser.screenshot(alice, os.path.join(SHOTS, "lobby.png"))
        await join(browser, alice)
        # Alone: the offer waits in the room for whoever opens the link
        await asyncio.to_thread(self.server.wait_log, "relay.queued",
                                type="offer", room=word, timeout=20)
        if SHOTS:
            await browser.screenshot(alice, os.path.join(SHOTS,
                                                         "waiting.png"))
        bob = await open_demo(browser, url, width=1000, height=760)
        await join(browser, bob)

        both = (alice, bob)
        for page in both:
            state = await browser.wait_value(
                page, "demo.state === 'connected' && demo.state")
            self.assertEqual(state, "connected",
                             await browser.value(page, "JSON.stringify("
                                                 "{state: demo.state, "
                                                 "errors: demo.errors})"))
        frames = await frames_growing(browser, both)
        for name, (first, later) in zip(("alice", "bob"), frames):
            self.assertGreater(first, 0, name)
            self.assertGreater(later, first, name)
        # No signal went wrong, and the page's policy refused nothing
        for page in both:
            self.assertEqual(await browser.value(page, "demo.errors"), [])
        # Each asked the server for its ICE servers first
        self.assertEqual(len(self.server.find("ice.servers")), 2)
        # The status the person sees
        for page in both:
            self.assertEqual(await browser.value(
                page, "document.getElementById('status').textContent"),
                "Connected")
        if SHOTS:
            await asyncio.sleep(1)
            await browser.screenshot(alice, os.path.join(SHOTS, "call.png"))

        # Alice hangs up: she is back in the lobby, Bob waits for the next
        await browser.value(alice, "document.getElementById('hangup').click()")
        self.assertEqual(await browser.wait_value(
            bob, "demo.state === 'waiting' && demo.state", timeout=15),
            "waiting")
        self.assertEqual(await browser.value(alice, "demo.state"), "closed")
        self.assertFalse(await browser.value(
            alice, "document.getElementById('lobby').classList"
            ".contains('hidden')"))

    async def test_both_join_at_once(self):
        # Neither finds an offer waiting, so both make one; the pages agree
        # on one of them (the side with the smaller name gives way)
        browser = self.browser
        await browser.connect()
        url = "http://127.0.0.1:%d/#at-once" % self.server.port
        pages = [await open_demo(browser, url, width=420, height=800)
                 for _ in range(2)]
        await browser.value(pages[0], "document.getElementById('join')"
                                      ".click(); true")
        await join(browser, pages[1])
        for page in pages:
            state = await browser.wait_value(
                page, "demo.state === 'connected' && demo.state")
            self.assertEqual(state, "connected", await browser.value(
                page, "JSON.stringify({state: demo.state, "
                      "errors: demo.errors})"))
        for first, later in await frames_growing(browser, pages):
            self.assertGreater(later, first)
            self.assertGreater(first, 0)
        if SHOTS:
            await browser.screenshot(pages[0],
                                     os.path.join(SHOTS, "narrow.png"))


def spki_hash(cert):
    """base64 SHA-256 of the certificate's public key, as Chromium's
    --ignore-certificate-errors-spki-list takes it: that one key is
    trusted, nothing else."""
    key = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=key, check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"],
                            input=der, check=True, capture_output=True).stdout
    return base64.b64encode(digest).decode()


class DemoCallOverTls(unittest.IsolatedAsyncioTestCase):
    """With TLS_CERT and TLS_KEY the page comes over https:// and speaks
    wss:// to the same port."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="homecall-demo-tls-")
        cert, key = make_certificate(self.dir.name)
        self.server = Server("--tls-cert", cert, "--tls-key", key)
        self.browser = Chromium(MEDIA_FLAGS + [
            "--ignore-certificate-errors-spki-list=" + spki_hash(cert)])

    async def asyncTearDown(self):
        await self.browser.close()

    def tearDown(self):
        self.browser.stop()
        self.assertEqual(self.server.stop(), 0)
        self.dir.cleanup()

    async def test_call_over_https_and_wss(self):
        browser = self.browser
        await browser.connect()
        url = "https://127.0.0.1:%d/#tls-maple-23" % self.server.port
        pages = []
        for _ in range(2):
            page = await open_demo(browser, url)
            await join(browser, page)
            pages.append(page)
        for page in pages:
            self.assertEqual(await browser.wait_value(
                page, "demo.state === 'connected' && demo.state"),
                "connected")
            self.assertTrue((await browser.value(page, "demo.ws.url"))
                            .startswith("wss://127.0.0.1:"))
        for first, later in await frames_growing(browser, pages):
            self.assertGreater(later, first)
            self.assertGreater(first, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
