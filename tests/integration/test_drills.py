#!/usr/bin/python3
"""Fault drills in the split deployment (rooms + notifier, two gateways)
while calls run: rooms killed and started again, rooms stopped (SIGSTOP)
for longer than LINK_TIMEOUT and let go on, an observer that subscribes
and never reads; and, in one process, LOG_FILE on a full filesystem."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, Server, cpu_seconds  # noqa: E402
from split import joined, stalled_observer  # noqa: E402
from test_signal import SDP_A  # noqa: E402
from test_split import SplitTest, healthz  # noqa: E402

PAIRS = 4


class Drill(SplitTest):
    gateway_args = ("--rate-limit", "0")

    async def pairs(self, prefix):
        """PAIRS calls, each between a client of either gateway."""
        pairs = []
        for i in range(PAIRS):
            room = "%s%d" % (prefix, i)
            a = await joined(self.gw[0], room, "a", self.clients)
            b = await joined(self.gw[1], room, "b", self.clients)
            pairs.append((room, a, b))
        return pairs

    async def relay(self, pairs, rounds):
        """Each pair sends rounds candidates one way and the other."""
        for n in range(rounds):
            for room, a, b in pairs:
                await a.send({"type": "candidate", "room": room,
                              "candidate": "a%d" % n})
                await b.send({"type": "candidate", "room": room,
                              "candidate": "b%d" % n})
            for room, a, b in pairs:
                self.assertEqual((await b.recv())["candidate"], "a%d" % n)
                self.assertEqual((await a.recv())["candidate"], "b%d" % n)

    async def load(self, pairs):
        """Relays until the connections close; returns the rounds done."""
        n = 0
        try:
            while True:
                for room, a, b in pairs:
                    await a.send({"type": "candidate", "room": room,
                                  "candidate": "l%d" % n})
                    await b.recv()
                n += 1
        except Exception:               # the drill closed them
            pass
        return n

    async def all_closed_with_1012(self, pairs, load):
        """The load ends as its connections close: each with 1012."""
        relayed = await asyncio.wait_for(load, 15)
        for _, a, b in pairs:
            for client in (a, b):
                await asyncio.wait_for(client.ws.wait_closed(), 10)
                self.assertEqual(client.ws.close_code, 1012)
        return relayed

    async def call_again(self, prefix):
        """Clients reconnect (retrying while refused) and call again."""
        for _ in range(100):
            try:
                pairs = await self.pairs(prefix)
                break
            except Exception:
                await asyncio.sleep(0.1)
        else:
            self.fail("clients could not come back")
        await self.relay(pairs, 3)


class RoomsKilledUnderLoad(Drill):
    async def test_clients_are_closed_with_1012_and_call_again(self):
        pairs = await self.pairs("k")
        load = asyncio.create_task(self.load(pairs))
        await asyncio.sleep(1)
        self.kill(self.rooms)
        self.assertGreater(await self.all_closed_with_1012(pairs, load), 10)
        self.rooms = self.start(self.rooms.restart())
        await self.call_again("k2-")
        for gateway in self.gw:
            self.assertEqual(await healthz(gateway), 200)


class RoomsStopped(Drill):
    async def test_gateways_notice_refuse_and_recover(self):
        pairs = await self.pairs("s")
        load = asyncio.create_task(self.load(pairs))
        await asyncio.sleep(0.5)
        self.rooms.proc.send_signal(signal.SIGSTOP)
        try:
            # Longer than LINK_TIMEOUT (1.5 s here): the gateways give up
            await self.all_closed_with_1012(pairs, load)
            for gateway in self.gw:
                gateway.wait_log("rooms.lost")
                self.assertEqual(await healthz(gateway), 503)
                with self.assertRaises(Exception):
                    await Client.connect(gateway)
        finally:
            self.rooms.proc.send_signal(signal.SIGCONT)
        for gateway in self.gw:
            self.assertGreaterEqual(
                len(gateway.wait_count("rooms.linked", 2, timeout=10)), 2)
        await self.call_again("s2-")
        # What rooms held for the clients of before is gone
        await asyncio.sleep(0.5)
        room_members = [e for e in self.rooms.find("room.join")
                        if e.get("room", "").startswith("s2-")]
        self.assertEqual(len(room_members), 2 * PAIRS)


class StalledObserver(Drill):
    async def test_relay_cost_is_the_same_with_an_observer_that_never_reads(
            self):
        pairs = await self.pairs("o")
        await self.relay(pairs, 20)             # warm

        async def cost():
            before = cpu_seconds(self.rooms.proc.pid)
            started = time.monotonic()
            await self.relay(pairs, 400)
            return (cpu_seconds(self.rooms.proc.pid) - before,
                    time.monotonic() - started)
        alone, alone_wall = await cost()
        stalled = stalled_observer(self, self.rooms.observer)
        try:
            await asyncio.sleep(0.3)            # subscribed
            observed, observed_wall = await cost()
        finally:
            stalled.close(linger=0)
        print("rooms CPU for %d relays: %.2f s alone, %.2f s with a stalled "
              "observer (wall %.2f s, %.2f s)" % (
                  800 * PAIRS, alone, observed, alone_wall, observed_wall),
              file=sys.stderr)
        self.assertLess(observed, alone * 1.5 + 0.1)
        self.assertLess(observed_wall, alone_wall * 2 + 1)


class FullDisk(unittest.IsolatedAsyncioTestCase):
    """LOG_FILE on a filesystem with no room left (a small tmpfs)."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        self.dir = tempfile.mkdtemp()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                        self.dir], check=True)
        self.addCleanup(os.rmdir, self.dir)
        self.addCleanup(subprocess.run, ["umount", self.dir], check=True)
        self.filler = os.path.join(self.dir, "filler")

    def fill(self):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"x" * 512):
                pass
        except OSError:
            pass
        os.close(fd)

    async def test_relays_go_on_and_the_failure_is_reported_once(self):
        log = os.path.join(self.dir, "homecall.log")
        server = Server("--log-file", log, "--rate-limit", "0")
        try:
            self.fill()
            clients = []
            a = await joined(server, "d", "a", clients)
            b = await joined(server, "d", "b", clients)
            for i in range(200):
                await a.send({"type": "offer", "room": "d", "sdp": SDP_A})
                self.assertEqual((await b.recv())["sdp"], SDP_A)
            failed = server.wait_log("notifier.write_failed")
            self.assertIn("No space left", failed["why"])
            self.assertEqual(len(server.find("notifier.write_failed")), 1)
            # Room again: the file works again, and says so
            os.remove(self.filler)
            await a.send({"type": "offer", "room": "d", "sdp": SDP_A})
            await b.recv()
            server.wait_log("notifier.write_resumed")
            for client in clients:
                await client.close()
        finally:
            self.assertEqual(server.stop(), 0)
        with open(log) as f:
            self.assertIn("notifier.write_resumed", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
