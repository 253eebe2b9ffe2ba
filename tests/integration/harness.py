"""Test harness: runs the real homecall binary on a free loopback port and
drives it with real WebSocket clients (python3-websockets).

The server is started with --ws-port 0; it logs the port it got
("gateway.listening"), so there is no race for a free port. Log lines are
JSON (--log-format json) and read continuously by a thread, so the server
never blocks on a full pipe and tests can wait for a log event.

Ordering without sleeps: Client.barrier() sends a frame that always makes
rooms answer this connection with an error (an offer naming a room nobody
joined under this name). Rooms handles one gateway's commands in order and
its deliveries come back in order, so every frame rooms meant for this
client before the barrier arrives before the barrier's answer.
"""

import asyncio
import faulthandler
import json
import os
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

import websockets

# A suite that hangs says where, and stops, well before ctest's limit
faulthandler.dump_traceback_later(
    int(os.environ.get("HOMECALL_SUITE_TIMEOUT", "300")), exit=True)

BINARY = os.path.abspath(os.environ.get("HOMECALL_BINARY", "build/homecall"))
# The observer endpoint's default is a fixed loopback port; servers under
# test (several may run at once) take a free one instead
os.environ.setdefault("OBSERVER_ENDPOINT", "tcp://127.0.0.1:*")
TIMEOUT = float(os.environ.get("HOMECALL_TEST_TIMEOUT", "5"))
BARRIER_ROOM = "__barrier__"
BARRIER_P2P = {"type": "error", "message": "<b>userId</b> is required",
               "handler": "SWAP_ICE", "context": {}}


class Server:
    """One homecall process, stopped by its pid when the test ends."""

    def __init__(self, *args, env=None, cwd=None, listening=True,
                 ready="gateway.listening"):
        self.args = [BINARY, "--ws-host", "127.0.0.1", "--ws-port", "0",
                     "--log-format", "json", "--log-level", "debug", *args]
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=full_env,
                                     cwd=cwd)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = None
        if listening:           # False: the gateway may never listen
            try:
                self.port = self.wait_log(ready).get("port")
            except AssertionError:
                # Never ready: no test will stop it, so it goes now
                self.proc.kill()
                self.proc.wait()
                raise

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def events(self):
        """Every log record so far, parsed."""
        out = []
        with self.cond:
            lines = list(self.lines)
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": "raw", "text": line})
        return out

    def find(self, event, **fields):
        return [e for e in self.events() if e.get("event") == event
                and all(e.get(k) == v for k, v in fields.items())]

    def wait_log(self, event, timeout=TIMEOUT, **fields):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = self.find_locked(event, fields)
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None
                                 and not self.reader.is_alive()):
                    raise AssertionError(
                        "no log event %s %s; log:\n%s" % (
                            event, fields, "\n".join(self.lines[-40:])))
                self.cond.wait(left)

    def wait_count(self, event, count, timeout=TIMEOUT, **fields):
        """Waits until count records match; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(event, **fields)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            with self.cond:
                self.cond.wait(0.05)

    def find_locked(self, event, fields):
        for line in self.lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == event and all(
                    e.get(k) == v for k, v in fields.items()):
                return [e]
        return []

    scheme = "ws"               # "wss" for a server with TLS_CERT

    def url(self, path="/signal"):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the server; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within %ss" % timeout)
        self.reader.join(timeout)
        self.proc.stderr.close()
        return self.proc.returncode


class Client:
    """A WebSocket client that reads frames as parsed JSON."""

    def __init__(self, ws, p2p=False):
        self.ws = ws
        self.p2p = p2p          # speaks the p2p dialect (any path but /signal)
        self.barriers = 0
        self.pending = []       # frames a barrier read past, oldest first

    @classmethod
    async def connect(cls, server, path="/signal", **kwargs):
        ws = await websockets.connect(server.url(path), max_size=None,
                                      **kwargs)
        return cls(ws, p2p=path.split("?")[0] != "/signal")

    @classmethod
    async def joined(cls, server, room, user):
        """A client whose join rooms has processed."""
        client = await cls.connect(server)
        await client.send({"type": "join", "room": room, "user": user})
        client.pending = await client.barrier()
        return client

    async def send(self, frame):
        if isinstance(frame, (dict, list)):
            frame = json.dumps(frame)
        await self.ws.send(frame)

    async def recv_raw(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.ws.recv(), timeout)

    async def recv(self, timeout=TIMEOUT):
        """The next frame, parsed; a frame that is not JSON (PONG) as is."""
        if self.pending:
            return self.pending.pop(0)
        raw = await self.recv_raw(timeout)
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    async def recv_ordered(self, timeout=TIMEOUT):
        """The next frame as [key, value] pairs, in wire order (dicts keep
        the order the parser saw)."""
        raw = await self.recv_raw(timeout)
        return [[k, v] for k, v in json.loads(raw).items()]

    async def barrier(self):
        """Frames that arrive before rooms answers a barrier frame: in
        /signal an offer naming a room this connection is not in, in p2p a
        SWAP_ICE without userId; both always get an error from rooms and
        change nothing."""
        self.barriers += 1
        if self.p2p:
            await self.send({"route": "SWAP_ICE"})
        else:
            await self.send({"type": "offer", "room": BARRIER_ROOM,
                             "sdp": "barrier-%d" % self.barriers})
        before, self.pending = self.pending, []
        while True:
            raw = await self.recv_raw()
            try:
                frame = json.loads(raw)
            except ValueError:
                frame = raw
            if self.p2p and frame == BARRIER_P2P:
                return before
            if (not self.p2p and isinstance(frame, dict)
                    and frame.get("type") == "error"
                    and frame.get("code") == "not_joined"):
                return before
            before.append(frame)

    async def expect_nothing(self, testcase):
        testcase.assertEqual(await self.barrier(), [])

    async def closed(self, timeout=TIMEOUT):
        """Waits for the server to close; returns (code, reason)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            return closed.code, closed.reason

    async def close(self):
        await self.ws.close()


SDP_A = "v=0\r\no=- 4451 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SDP_B = "v=0\r\no=- 6703 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def offer_answer(test, alice, bob, room="w1", names=("alice", "bob")):
    """A call's signaling between two joined /signal clients: alice's
    offer reaches bob, bob's answer reaches alice."""
    await alice.send({"type": "offer", "room": room, "sdp": SDP_A})
    test.assertEqual(await bob.recv(), {"type": "offer", "room": room,
                                        "from": names[0], "sdp": SDP_A})
    await bob.send({"type": "answer", "room": room, "sdp": SDP_B})
    test.assertEqual(await alice.recv(), {"type": "answer", "room": room,
                                          "from": names[1], "sdp": SDP_B})


def make_certificate(directory, name="server"):
    """A self-signed P-256 certificate for 127.0.0.1, made by the openssl
    command: (certificate, key) paths."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
         "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30)
    return cert, key


def rss_kib(pid):
    """Resident set of a process, in KiB (0 once it is gone)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User and system time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape_metrics(server, **headers):
    """GET /metrics: the status and, for 200, {sample: value}."""
    request = urllib.request.Request(
        "http://127.0.0.1:%d/metrics" % server.port, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            kind = reply.headers["Content-Type"]
            assert kind.startswith("text/plain; version=0.0.4"), kind
            lines = reply.read().decode().splitlines()
    except urllib.error.HTTPError as error:
        return error.code, None
    samples = {}
    for line in lines:
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = int(value)
    return 200, samples


async def wait_metrics(test, server, expected):
    """Scrapes /metrics until every expected sample has its value (rooms'
    part is as of its last WELCOME); returns every sample."""
    for _ in range(50):
        status, samples = await asyncio.to_thread(scrape_metrics, server)
        test.assertEqual(status, 200)
        if all(samples.get(k) == v for k, v in expected.items()):
            return samples
        await asyncio.sleep(0.1)
    test.assertEqual({k: samples.get(k) for k in expected}, expected)


class ServerTest(unittest.IsolatedAsyncioTestCase):
    """Starts a server per test with server_args; stops it afterwards."""

    server_args = ()

    def setUp(self):
        self.server = Server(*self.server_args)
        self.clients = []

    async def asyncTearDown(self):
        for client in self.clients:
            await client.ws.close()

    def tearDown(self):
        code = self.server.stop()
        self.assertEqual(code, 0, "server exit code")
        problems = [e for e in self.server.events()
                    if e.get("level") == "error"]
        self.assertEqual(problems, [], "error records in the server log")

    async def client(self, path="/signal", **kwargs):
        c = await Client.connect(self.server, path, **kwargs)
        self.clients.append(c)
        return c

    async def metrics(self, **expected):
        return await wait_metrics(self, self.server, expected)

    async def joined(self, room, user, path="/signal"):
        """A client whose join rooms has processed; frames delivered on
        the join wait in client.pending."""
        c = await self.client(path)
        await c.send({"type": "join", "room": room, "user": user,
                      "from": user})
        c.pending = await c.barrier()
        return c
