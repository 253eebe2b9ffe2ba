#!/usr/bin/python3
"""Two headless Chromium tabs call each other through /signal.

The page (tests/integration/browser_call.html) speaks the dialect exactly
as the HomeCall PWA does, and sets up a real WebRTC connection with a data
channel. The caller's offer and candidates wait in the room's queue until
the callee's tab opens, as in the PWA's invite-link flow. Chromium is
driven over its DevTools protocol with python3-websockets; nothing else is
needed."""

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server  # noqa: E402

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "browser_call.html")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage",
         # host candidates with real addresses, not mDNS names
         "--disable-features=WebRtcHideLocalIpsWithMdns",
         "--remote-debugging-port=0"]


class Chromium:
    """A headless Chromium, stopped by its pid; pages over DevTools."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="homecall-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--user-data-dir=" + self.profile,
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        self.endpoint = None
        self.found = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.found.wait(30):
            self.stop()
            raise AssertionError("Chromium did not start")
        self.ids = itertools.count(1)
        self.replies = {}

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            if "DevTools listening on " in line and not self.endpoint:
                self.endpoint = line.split("DevTools listening on ")[1].strip()
                self.found.set()

    async def connect(self):
        self.ws = await websockets.connect(self.endpoint, max_size=None)
        self.reader = asyncio.ensure_future(self._dispatch())

    async def _dispatch(self):
        async for raw in self.ws:
            message = json.loads(raw)
            future = self.replies.pop(message.get("id"), None)
            if future and not future.done():
                future.set_result(message)

    async def call(self, method, params=None, session=None):
        ident = next(self.ids)
        request = {"id": ident, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self.replies[ident] = future
        await self.ws.send(json.dumps(request))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise AssertionError("%s: %s" % (method, reply["error"]))
        return reply["result"]

    async def open(self, url):
        target = await self.call("Target.createTarget", {"url": url})
        attached = await self.call("Target.attachToTarget",
                                   {"targetId": target["targetId"],
                                    "flatten": True})
        return attached["sessionId"]

    async def value(self, session, expression):
        reply = await self.call("Runtime.evaluate",
                                {"expression": expression,
                                 "returnByValue": True}, session)
        return reply["result"].get("value")

    async def close(self):
        if getattr(self, "ws", None):
            self.reader.cancel()
            await self.ws.close()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class BrowserCall(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.server = Server()
        self.browser = Chromium()

    async def asyncTearDown(self):
        await self.browser.close()

    def tearDown(self):
        self.browser.stop()
        self.assertEqual(self.server.stop(), 0)

    def page(self, room, user, role):
        query = urllib.parse.urlencode({"ws": self.server.url("/signal"),
                                        "room": room, "user": user,
                                        "role": role})
        return "file://%s?%s" % (PAGE, query)

    async def test_two_tabs_call_with_the_offer_queued(self):
        await self.browser.connect()
        room = "5f0c6a44-8a8e-4c53-9c55-2d8f2b7f3c11"
        caller = await self.browser.open(self.page(room, "Alice", "caller"))
        # Alone in the room: the offer and the candidates are queued
        for kind in ("offer", "candidate"):
            await asyncio.to_thread(self.server.wait_log, "relay.queued",
                                    type=kind, room=room, timeout=20)
        callee = await self.browser.open(self.page(room, "Bob", "callee"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        results = {}
        while loop.time() < deadline:
            for name, session in (("caller", caller), ("callee", callee)):
                results[name] = await self.browser.value(
                    session, "JSON.stringify(Object.assign({channel: "
                    "window.channel && window.channel.readyState}, "
                    "window.result))")
            states = [json.loads(results[n] or "{}").get("received")
                      for n in ("caller", "callee")]
            if all(states):
                break
            await asyncio.sleep(0.2)
        caller_result = json.loads(results["caller"])
        callee_result = json.loads(results["callee"])
        self.assertEqual(caller_result["received"], ["hello from Bob"],
                         results)
        self.assertEqual(callee_result["received"], ["hello from Alice"],
                         results)
        self.assertEqual(caller_result["pc"], "connected")
        self.assertEqual(callee_result["pc"], "connected")
        self.assertNotIn("error", caller_result)
        self.assertNotIn("error", callee_result)
        # The callee got the queued offer first, then its candidates
        self.assertEqual(callee_result["frames"][0], "offer:Alice")
        self.assertTrue(all(f == "candidate:Alice"
                            for f in callee_result["frames"][1:]))
        self.assertEqual(caller_result["frames"][0], "answer:Bob")
        delivered = self.server.wait_count("relay.delivered", 2, room=room)
        self.assertGreaterEqual(len(delivered), 2)
        self.assertEqual(delivered[0]["type"], "offer")


if __name__ == "__main__":
    unittest.main(verbosity=2)
