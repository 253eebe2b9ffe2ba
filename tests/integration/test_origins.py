#!/usr/bin/python3
"""ALLOWED_ORIGINS: off by default; when set, a WebSocket handshake whose
Origin is not listed gets HTTP 403 and a conn.refused record (reason
origin); a handshake without Origin (a native app) goes on."""

import os
import subprocess
import sys
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, ServerTest  # noqa: E402

LISTED = "https://call.example.com"
APP = "http://127.0.0.1:8080"


class Listed(ServerTest):
    server_args = ("--allowed-origins", "%s, %s" % (LISTED, APP))

    async def test_listed_origins_connect_in_both_dialects(self):
        await self.joined("w1", "alice")    # no Origin: a native client
        page = await self.client(origin=LISTED)
        await page.send({"type": "join", "room": "w1", "user": "bob"})
        await page.expect_nothing(self)
        phone = await self.client("/", origin=APP)
        self.assertEqual(await phone.recv(), {"type": "userConnect"})
        # Scheme and host are case-insensitive, as in URLs
        await self.client(origin="HTTPS://Call.Example.com")
        self.assertEqual(self.server.find("conn.refused"), [])

    async def test_other_origins_get_403_and_a_record(self):
        for path, origin in (("/signal", "https://evil.example"),
                             ("/", "https://call.example.com.evil.example"),
                             ("/signal", "http://call.example.com"),
                             ("/signal", "null")):
            with self.subTest(origin=origin):
                with self.assertRaises(websockets.InvalidStatusCode) as no:
                    await websockets.connect(self.server.url(path),
                                             origin=origin)
                self.assertEqual(no.exception.status_code, 403)
        record = self.server.wait_log("conn.refused", reason="origin")
        self.assertEqual(record["level"], "warn")
        self.assertEqual(record["origin"], "https://evil.example")
        self.assertEqual(record["peer"], "127.0.0.1")
        # Once a second per reason: /metrics counts every one
        samples = await self.metrics(**{
            'homecall_connections_refused_total{reason="origin"}': 4})
        self.assertEqual(samples["homecall_connections"
                                 '{dialect="signal"}'], 0)
        # The server goes on
        await self.joined("w1", "alice")


class Unset(ServerTest):
    async def test_any_origin_connects_by_default(self):
        await self.client(origin="https://anything.example")
        await self.client("/", origin="null")
        self.assertEqual(self.server.find("conn.refused"), [])


class BadList(unittest.TestCase):
    def test_an_entry_that_is_no_origin_stops_the_start(self):
        for value in ("https://call.example.com/", "call.example.com", "*"):
            with self.subTest(value=value):
                run = subprocess.run(
                    [BINARY, "--ws-port", "0", "--allowed-origins",
                     "https://ok.example," + value],
                    capture_output=True, text=True, timeout=30)
                self.assertEqual(run.returncode, 2)
                self.assertIn("ALLOWED_ORIGINS: '%s'" % value, run.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
