#!/usr/bin/python3
"""TLS in the gateway (TLS_CERT, TLS_KEY): wss:// and https:// on the
WebSocket port, with a self-signed certificate made here by the openssl
command; plain ws:// and http:// on that port get 400 not_tls; bad files
stop the start with a message naming the setting."""

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, Server, ServerTest, TIMEOUT,  # noqa: E402
                     make_certificate, offer_answer)



DIR = tempfile.TemporaryDirectory(prefix="homecall-tls-")
CERT, KEY = make_certificate(DIR.name)
OTHER_CERT, OTHER_KEY = make_certificate(DIR.name, "other")


def trusting():
    """A client context that trusts our certificate and checks the name."""
    return ssl.create_default_context(cafile=CERT)


def https_get(port, path, context):
    """(status, body) of GET https://127.0.0.1:port/path."""
    url = "https://127.0.0.1:%d%s" % (port, path)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT,
                                    context=context) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=TIMEOUT) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class Tls(ServerTest):
    server_args = ("--tls-cert", CERT, "--tls-key", KEY)

    def setUp(self):
        super().setUp()
        self.server.scheme = "wss"
        self.assertEqual(self.server.find("gateway.listening")[0]["scheme"],
                         "wss")

    async def client(self, path="/signal", **kwargs):
        return await super().client(path, ssl=trusting(), **kwargs)

    async def test_a_call_through_wss(self):
        alice = await self.joined("w1", "alice")
        bob = await self.joined("w1", "bob")
        await offer_answer(self, alice, bob)
        self.assertTrue(alice.ws.transport.get_extra_info("ssl_object"))

    async def test_p2p_dialect_through_wss(self):
        phone = await self.client("/")
        self.assertEqual(await phone.recv(), {"type": "userConnect"})

    async def test_https_healthz_and_metrics(self):
        status, body = await asyncio.to_thread(
            https_get, self.server.port, "/healthz", trusting())
        self.assertEqual((status, body), (200, "ok\n"))
        status, body = await asyncio.to_thread(
            https_get, self.server.port, "/metrics", trusting())
        self.assertEqual(status, 200)
        self.assertIn("homecall_rooms_up 1\n", body)

    async def test_plain_clients_on_the_tls_port_fail_cleanly(self):
        port = self.server.port
        with self.assertRaises(websockets.InvalidStatusCode) as refused:
            await websockets.connect("ws://127.0.0.1:%d/signal" % port)
        self.assertEqual(refused.exception.status_code, 400)
        status, body = await asyncio.to_thread(http_get, port, "/healthz")
        self.assertEqual((status, body), (400, "not_tls\n"))
        record = self.server.wait_log("conn.refused", reason="not_tls")
        self.assertEqual(record["level"], "warn")
        self.assertEqual(record["peer"], "127.0.0.1")
        # The server goes on: a TLS client still calls (tearDown checks that
        # no error record was logged and the exit code is 0)
        await self.joined("w1", "alice")
        status, body = await asyncio.to_thread(
            https_get, port, "/metrics", trusting())
        self.assertIn('homecall_connections_refused_total{reason="not_tls"} 2',
                      body)

    async def test_a_client_that_does_not_trust_the_certificate_fails(self):
        other = ssl.create_default_context(cafile=OTHER_CERT)
        with self.assertRaises(ssl.SSLCertVerificationError):
            await websockets.connect(self.server.url(), ssl=other)
        # and the server still serves the next one
        await self.joined("w1", "alice")


class Deadlines(unittest.TestCase):
    def test_a_silent_tls_client_is_closed_cleanly(self):
        """HANDSHAKE_TIMEOUT on a TLS port: the socket is closed through
        TLS, with no plain-text answer inside the TLS stream."""
        server = Server("--tls-cert", CERT, "--tls-key", KEY,
                        "--handshake-timeout", "1s")
        try:
            raw = socket.create_connection(("127.0.0.1", server.port))
            with trusting().wrap_socket(raw,
                                        server_hostname="127.0.0.1") as tls:
                tls.settimeout(TIMEOUT)
                self.assertEqual(tls.recv(100), b"")
            server.wait_log("conn.refused", reason="handshake_timeout")
        finally:
            self.assertEqual(server.stop(), 0)
        self.assertEqual([e for e in server.events()
                          if e.get("level") == "error"], [])


class CapAtAccept(unittest.IsolatedAsyncioTestCase):
    async def test_a_tls_client_over_its_cap_sees_a_close_not_garbage(self):
        """MAX_CONNECTIONS_PER_IP refuses at accept, before any TLS: on a
        TLS port without the plain-text 429 a TLS client cannot read."""
        server = Server("--tls-cert", CERT, "--tls-key", KEY,
                        "--max-connections-per-ip", "1")
        server.scheme = "wss"
        # 127.0.0.2 is no trusted proxy: it is counted from accept
        args = {"ssl": trusting(), "local_addr": ("127.0.0.2", 0)}
        try:
            first = await websockets.connect(server.url(), **args)
            with self.assertRaises(OSError) as refused:
                await websockets.connect(server.url(), **args)
            self.assertNotIsInstance(refused.exception, ssl.SSLError)
            await first.close()
            server.wait_log("conn.refused", reason="max_connections_per_ip",
                            peer="127.0.0.2")
        finally:
            self.assertEqual(server.stop(), 0)


class BadFiles(unittest.TestCase):
    """A wrong file stops the start: exit code 2, and stderr says which
    setting, which file and why."""

    def start(self, *args):
        run = subprocess.run(
            [BINARY, "--ws-host", "127.0.0.1", "--ws-port", "0",
             "--observer-endpoint", "tcp://127.0.0.1:*", *args],
            capture_output=True, text=True, timeout=30)
        return run.returncode, run.stderr

    def test_missing_certificate(self):
        missing = os.path.join(DIR.name, "missing.pem")
        code, err = self.start("--tls-cert", missing, "--tls-key", KEY)
        self.assertEqual(code, 2)
        self.assertIn("TLS_CERT", err)
        self.assertIn(missing, err)
        self.assertIn("No such file", err)

    def test_key_of_another_certificate(self):
        code, err = self.start("--tls-cert", CERT, "--tls-key", OTHER_KEY)
        self.assertEqual(code, 2)
        self.assertIn("TLS_KEY", err)
        self.assertIn("is not the key", err)

    def test_a_file_that_is_not_pem(self):
        junk = os.path.join(DIR.name, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        code, err = self.start("--tls-cert", junk, "--tls-key", KEY)
        self.assertEqual(code, 2)
        self.assertIn("TLS_CERT", err)
        self.assertIn("no usable PEM certificate", err)
        code, err = self.start("--tls-cert", CERT, "--tls-key", junk)
        self.assertEqual(code, 2)
        self.assertIn("no usable PEM private key", err)

    def test_key_without_certificate(self):
        code, err = self.start("--tls-key", KEY)
        self.assertEqual(code, 2)
        self.assertIn("TLS_KEY: set without TLS_CERT", err)

    def test_certificate_and_key_in_one_file(self):
        both = os.path.join(DIR.name, "both.pem")
        with open(both, "w") as f:
            for path in (CERT, KEY):
                with open(path) as part:
                    f.write(part.read())
        server = Server("--tls-cert", both)
        try:
            server.scheme = "wss"
            status, body = https_get(server.port, "/healthz", trusting())
            self.assertEqual((status, body), (200, "ok\n"))
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
