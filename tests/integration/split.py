"""Split deployments for tests: rooms + notifier (and the event bus) in one
process, each gateway in another, all on loopback with free ports, and
homecall-tap as an observer.

The rooms process binds its ZeroMQ endpoints on free ports below the
kernel's ephemeral range, and they are read back from the log
(rooms.ready, bus.ready). Below that range no other process gets one of
them by binding port 0, and no redial of a gateway to a dead rooms
connects to itself (a connect's source port comes from that range), so a
restarted rooms process can bind again what its predecessor had.
"""

import json
import os
import random
import socket
import shutil
import subprocess
import tempfile
import threading
import time

import websockets
import zmq

from harness import BINARY, TIMEOUT, Client, Server

BUILD = os.path.dirname(BINARY)
TAP = os.path.join(BUILD, "homecall-tap")
REPLAY = os.path.join(BUILD, "homecall-replay")
KEYGEN = os.path.join(BUILD, "homecall-keygen")
_given_ports = set()     # never the same port twice: several are picked
                         # before any of them is bound


def fixed_port():
    """A free port below the ephemeral range."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(100):
        port = random.randint(max(1024, low - 12000), low - 1)
        if port in _given_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given_ports.add(port)
        return "tcp://127.0.0.1:%d" % port
    raise AssertionError("no free port below the ephemeral range")


def zmq_context(test):
    """A ZeroMQ context that cannot hang the test's end: its sockets linger
    0, and it is destroyed even when the test fails half way."""
    ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 0)
    test.addCleanup(ctx.destroy, 0)
    return ctx


def stalled_observer(test, endpoint):
    """A subscriber to every event that never reads, with small queues so
    that the bus finds it full at once; close it with linger=0."""
    sock = zmq_context(test).socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 10)
    sock.setsockopt(zmq.RCVBUF, 4096)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


# Links between processes notice a dead peer within 1.5 s in tests (less
# would mistake a busy sanitizer build on two cores for a dead peer)
FAST_LINK = ("--link-heartbeat", "100ms", "--link-timeout", "1500ms")


class RoomsProcess(Server):
    """homecall --actors rooms,notifier: rooms, the bus, the central log."""

    def __init__(self, *args, rooms=None, events_in=None, observer=None,
                 env=None):
        rooms = rooms or fixed_port()
        events_in = events_in or fixed_port()
        observer = observer or fixed_port()
        super().__init__("--actors", "rooms,notifier",
                         "--rooms-endpoint", rooms,
                         "--events-in-endpoint", events_in,
                         "--observer-endpoint", observer, *args,
                         env=env, ready="rooms.ready")
        self.rooms_endpoint = self.wait_log("rooms.ready")["endpoint"]
        bus = self.wait_log("bus.ready", role="bus")
        self.events_in = bus["in"]
        self.observer = bus["observer"]
        self.restart_args = args
        self.env = env

    def restart(self):
        """The same process again, on the same endpoints."""
        return RoomsProcess(*self.restart_args, rooms=self.rooms_endpoint,
                            events_in=self.events_in,
                            observer=self.observer, env=self.env)


class GatewayProcess(Server):
    """homecall --actors gateway,notifier linked to a RoomsProcess."""

    def __init__(self, rooms, *args, env=None):
        super().__init__("--actors", "gateway,notifier",
                         "--rooms-endpoint", rooms.rooms_endpoint,
                         "--events-in-endpoint", rooms.events_in, *args,
                         env=env)
        self.instance = self.wait_log("gateway.listening")["instance"]


class Tap:
    """homecall-tap on an observer endpoint; its JSON lines, parsed."""

    def __init__(self, endpoint, *prefixes, keys=()):
        self.proc = subprocess.Popen(
            [TAP, "--endpoint", endpoint, *keys, *prefixes],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.events = []
        self.errors = []
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._errors, daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            event = json.loads(raw)
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def _errors(self):
        for raw in self.proc.stderr:
            self.errors.append(raw.decode("utf-8", "replace"))

    def find(self, topic, **fields):
        with self.cond:
            return [e for e in self.events if e["topic"] == topic
                    and all(e.get(k) == v for k, v in fields.items())]

    def wait(self, topic, timeout=TIMEOUT, count=1, **fields):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if e["topic"] == topic
                         and all(e.get(k) == v for k, v in fields.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("tap saw no %s %s; it saw %s" % (
                        topic, fields, [e["topic"] for e in self.events]))
                self.cond.wait(left)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        for reader in self.readers:
            reader.join(5)
        return self.proc.returncode


async def until_tap_sees(tap, gateways, attempts=100):
    """Opens and closes connections on each gateway until the tap reports
    one from every gateway: only then have the tap's subscriptions reached
    every publisher (they travel asynchronously)."""
    for _ in range(attempts):
        missing = [g for g in gateways
                   if not tap.find("conn.open", gateway=g.instance)]
        if not missing:
            return
        for gateway in missing:
            ws = await websockets.connect(gateway.url("/signal"))
            await ws.close()
        with tap.cond:
            tap.cond.wait(0.05)
    raise AssertionError("the tap never saw a connection from each gateway")


async def until_tap_finds(tap, probe, topic, attempts=200, **fields):
    """Runs the coroutine function probe until the tap reports topic: a
    tap's subscription travels asynchronously, and a loaded machine can
    take seconds to start it. Waits 0.05 s on the tap between attempts."""
    for _ in range(attempts):
        await probe()
        with tap.cond:
            tap.cond.wait(0.05)
        if tap.find(topic, **fields):
            return
    raise AssertionError("the tap never saw %s %s; its errors: %s" % (
        topic, fields, tap.errors))


class Keys:
    """CURVE certificates made with homecall-keygen in a temporary dir:
    NAME and NAME_secret; allowed/ holds the public ones rooms accepts."""

    def __init__(self, *names, allowed=()):
        self.dir = tempfile.mkdtemp(prefix="hc-keys-")
        self.allowed = os.path.join(self.dir, "allowed")
        os.mkdir(self.allowed)
        for name in names:
            subprocess.run([KEYGEN, self.public(name)], check=True,
                           stdout=subprocess.DEVNULL)
        for name in allowed:
            shutil.copy(self.public(name), self.allowed)

    def public(self, name):
        return os.path.join(self.dir, name)

    def secret(self, name):
        return self.public(name) + "_secret"

    def server_args(self, name):
        return ("--curve-secret-key", self.secret(name),
                "--curve-allowed-keys", self.allowed)

    def client_args(self, name, server):
        return ("--curve-secret-key", self.secret(name),
                "--curve-server-key", self.public(server))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


async def joined(server, room, user, clients):
    """A /signal client on server whose join rooms has handled; frames
    delivered on the join wait in client.pending."""
    client = await Client.connect(server)
    clients.append(client)
    await client.send({"type": "join", "room": room, "user": user})
    client.pending = await client.barrier()
    return client
