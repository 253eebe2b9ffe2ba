"""Debian's nginx and apache2, run by the tests with the shipped configs
(deploy/nginx.conf, deploy/apache.conf) on loopback.

Only what cannot be the same on a test machine is substituted: ports, the
upstream's port, certificate paths (a self-signed certificate made by the
openssl command) and, where a test says so, a timeout. Each proxy runs in
the foreground with its pid, logs and temp files in its own directory and
is stopped by its pid.
"""

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import websockets

from harness import TIMEOUT, Client, Server, make_certificate, offer_answer
from split import fixed_port

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LE = "/etc/letsencrypt/live/call.example.com/"


def free_port():
    return int(fixed_port().rsplit(":", 1)[1])


def shipped(name):
    with open(os.path.join(TOP, "deploy", name), encoding="utf-8") as f:
        return f.read()


def substitute(text, replacements):
    """Replaces each (old, new); every old must occur."""
    for old, new in replacements:
        assert old in text, "%r is not in the shipped config" % old
        text = text.replace(old, new)
    return text


def without_tls(text):
    """The shipped config as its comment says to use it without TLS."""
    text = text.replace("listen 443 ssl;", "listen 80;")
    text = text.replace("listen 5443 ssl;", "listen 5443;")
    text = text.replace("<VirtualHost *:443>", "<VirtualHost *:80>")
    lines = [line for line in text.splitlines()
             if not re.match(r"\s*(ssl_|SSL)", line)]
    text = "\n".join(lines) + "\n"
    # the redirecting server on port 80 goes
    text = re.sub(r"\n# Plain HTTP:.*?\n}\n", "\n", text, flags=re.S)
    text = re.sub(r"\n<VirtualHost \*:80>\n    ServerName.*?RewriteRule.*?"
                  r"</VirtualHost>\n", "\n", text, count=1, flags=re.S)
    return text


def wait_port(port, proc, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("proxy exited with %s" % proc.returncode)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("proxy did not listen on %d" % port)


class Proxy:
    """One proxy process; site is the shipped config after substitution."""

    def __init__(self, site):
        self.dir = tempfile.TemporaryDirectory(prefix="homecall-proxy-")
        os.chmod(self.dir.name, 0o755)     # workers run as nobody
        self.site = os.path.join(self.dir.name, "homecall.conf")
        with open(self.site, "w", encoding="utf-8") as f:
            f.write(site)
        self.proc = None

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def check(self):
        """The proxy's own syntax check of the config: (ok, output)."""
        run = subprocess.run(self.command("-t"), capture_output=True,
                             text=True, timeout=30)
        return run.returncode == 0, run.stdout + run.stderr

    def start(self, port):
        self.stderr = open(self.path("stderr"), "w")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        wait_port(port, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.stderr.close()
        self.dir.cleanup()

    def log(self):
        out = []
        for name in sorted(os.listdir(self.dir.name)):
            if name.endswith("log") or name == "stderr":
                with open(self.path(name), errors="replace") as f:
                    out.append("== %s\n%s" % (name, f.read()[-3000:]))
        return "\n".join(out)


class Nginx(Proxy):
    stop_signal = signal.SIGQUIT        # graceful: workers finish, then exit

    def __init__(self, site):
        super().__init__(site)
        d = self.dir.name
        with open(self.path("nginx.conf"), "w") as f:
            f.write("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                    "error_log %s/error.log info;\nevents {}\nhttp {\n"
                    "    access_log %s/access.log;\n"
                    "    client_body_temp_path %s/body;\n"
                    "    proxy_temp_path %s/proxy;\n"
                    "    fastcgi_temp_path %s/fastcgi;\n"
                    "    uwsgi_temp_path %s/uwsgi;\n"
                    "    scgi_temp_path %s/scgi;\n"
                    "    include %s;\n}\n" % ((d,) * 8 + (self.site,)))

    def command(self, *args):
        return ["nginx", "-p", self.dir.name, "-e", self.path("error.log"),
                "-c", self.path("nginx.conf"), *args]


class Apache(Proxy):
    stop_signal = signal.SIGTERM

    MODULES = ("mpm_event", "authz_core", "rewrite",
               "proxy", "proxy_http", "proxy_wstunnel", "ssl",
               "socache_shmcb")

    def __init__(self, site, ports, timeout=None):
        """timeout: the server's Timeout (Debian's apache2.conf: 300); an
        upgraded connection's idle time is the longer of it and the
        proxy's."""
        super().__init__(site)
        d = self.dir.name
        lines = ["ServerRoot /etc/apache2", "ServerName 127.0.0.1",
                 "Timeout %d" % (timeout or 300),
                 "PidFile %s/apache.pid" % d, "Mutex file:%s default" % d,
                 "DefaultRuntimeDir %s" % d, "ErrorLog %s/error.log" % d,
                 "LogLevel warn", "User nobody", "Group nogroup",
                 "Define APACHE_LOG_DIR %s" % d,
                 'LogFormat "%h %l %u %t \\"%r\\" %>s %O" combined']
        lines += ["LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so"
                  % (m, m) for m in self.MODULES]
        lines += ["Listen 127.0.0.1:%d" % p for p in sorted(set(ports))]
        lines += ["Include %s" % self.site]
        with open(self.path("apache2.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self, *args):
        return ["apache2", "-f", self.path("apache2.conf"), "-DFOREGROUND",
                *args]


# Clients come from another loopback address than the proxy, so that the
# address the server logs shows whose it is
CLIENT_ADDRESS = "127.0.0.2"


def https_get(port, path, cafile):
    """(status, body, Location) of GET https://127.0.0.1:port/path, or of
    http:// when cafile is None; redirects are not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=context))
    url = "%s://127.0.0.1:%d%s" % ("https" if cafile else "http", port, path)
    try:
        with opener.open(url, timeout=TIMEOUT) as reply:
            return reply.status, reply.read().decode(), None
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers["Location"]


class ProxyTests:
    """The tests every shipped proxy config passes; mixed into a
    harness.ServerTest by a class that defines proxy(server, timeout),
    which returns a started Proxy and its ports {"http", "https", "p2p"}."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="homecall-proxy-test-")
        self.cert, self.key = make_certificate(self.tmp.name)
        self.proxies = []

    def tearDown(self):
        for proxy in self.proxies:
            proxy.stop()
        self.tmp.cleanup()
        super().tearDown()

    def started(self, proxy, ports):
        self.proxies.append(proxy)
        ok, output = proxy.check()
        self.assertTrue(ok, output)
        try:
            proxy.start(ports["https"])
        except AssertionError:
            raise AssertionError(proxy.log())
        return proxy, ports

    async def connect(self, port, path="/signal"):
        """A client through the proxy's TLS port; it sends no pings of its
        own, so only the server's keep an idle connection alive."""
        ws = await websockets.connect(
            "wss://127.0.0.1:%d%s" % (port, path), max_size=None,
            ssl=ssl.create_default_context(cafile=self.cert),
            local_addr=(CLIENT_ADDRESS, 0), ping_interval=None)
        client = Client(ws, p2p=path != "/signal")
        self.clients.append(client)
        return client

    async def joined(self, port, room, user):
        client = await self.connect(port)
        await client.send({"type": "join", "room": room, "user": user})
        client.pending = await client.barrier()
        return client

    async def test_a_call_through_the_proxy_with_tls(self):
        _, ports = self.proxy(self.server)
        alice = await self.joined(ports["https"], "w1", "alice")
        bob = await self.joined(ports["https"], "w1", "bob")
        await offer_answer(self, alice, bob)
        # The server logs the client's address, from X-Forwarded-For, and
        # the proxy as via (TRUSTED_PROXIES trusts loopback by default)
        opened = self.server.find("conn.open")
        self.assertEqual(len(opened), 2)
        for record in opened:
            self.assertEqual((record["peer"], record["via"]),
                             (CLIENT_ADDRESS, "127.0.0.1"))
        # The p2p dialect on its port, plain requests, the http redirect
        phone = await self.connect(ports["p2p"], "/")
        self.assertEqual(await phone.recv(), {"type": "userConnect"})
        reply = await asyncio.to_thread(https_get, ports["https"], "/healthz",
                                        self.cert)
        self.assertEqual(reply, (200, "ok\n", None))
        status, page, _ = await asyncio.to_thread(https_get, ports["https"],
                                                  "/", self.cert)
        self.assertEqual(status, 200)       # the demo page
        self.assertIn("<html", page.lower())
        status, _, location = await asyncio.to_thread(
            https_get, ports["http"], "/signal", None)
        self.assertEqual(status, 301)
        self.assertTrue(location.startswith("https://")
                        and location.endswith("/signal"), location)

    async def test_an_idle_call_outlives_the_proxy_timeout(self):
        # Short proxy timeouts and pings, in proportion to the shipped ones
        # (120 s against PING_INTERVAL=30s): the point is that the server's
        # pings are what keeps the connection, as they would in production
        idle = Server("--ping-interval", "1s", "--ping-timeout", "2s")
        quiet = Server("--ping-interval", "60s")
        try:
            _, ports = self.proxy(idle, timeout=3)
            _, quiet_ports = self.proxy(quiet, timeout=3)
            alice = await self.joined(ports["https"], "w1", "alice")
            bob = await self.joined(ports["https"], "w1", "bob")
            control = await self.joined(quiet_ports["https"], "w1", "carol")
            await asyncio.sleep(5)
            await offer_answer(self, alice, bob)
            self.assertEqual(idle.find("conn.close"), [])
            # Without the server's pings, the proxy closes an idle one
            closed = await control.closed(timeout=1)
            self.assertNotEqual(closed[0], 1000, closed)
        finally:
            for server in (idle, quiet):
                self.assertEqual(server.stop(), 0)

    def test_the_shipped_config_without_tls_passes_the_check(self):
        proxy, _ = self.proxy(self.server, tls=False, start=False)
        self.proxies.append(proxy)
        ok, output = proxy.check()
        self.assertTrue(ok, output)
