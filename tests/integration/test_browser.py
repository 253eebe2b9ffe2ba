#!/usr/bin/python3
"""Two headless Chromium tabs call each other through /signal.

The page (tests/integration/browser_call.html) speaks the dialect exactly
as the HomeCall PWA does, and sets up a real WebRTC connection with a data
channel. The caller's offer and candidates wait in the room's queue until
the callee's tab opens, as in the PWA's invite-link flow. Chromium is
driven over its DevTools protocol (tests/integration/chromium.py)."""

import asyncio
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chromium import Chromium  # noqa: E402
from harness import Server  # noqa: E402

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "browser_call.html")


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
