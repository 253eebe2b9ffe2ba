"""A headless Debian Chromium driven over its DevTools protocol with
python3-websockets: pages in their own browser contexts (separate
profiles, as two people's browsers), JavaScript evaluated in them,
screenshots. Started with --remote-debugging-port=0 (it prints the port it
got) and stopped by its pid."""

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading

import websockets

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage",
         # host candidates with real addresses, not mDNS names
         "--disable-features=WebRtcHideLocalIpsWithMdns",
         "--remote-debugging-port=0"]

# Cameras and microphones: Chromium's fake devices (a test pattern and a
# beep), allowed without asking; media may play before any click
MEDIA_FLAGS = ["--use-fake-device-for-media-stream",
               "--use-fake-ui-for-media-stream",
               "--autoplay-policy=no-user-gesture-required"]


class Chromium:
    """A headless Chromium, stopped by its pid; pages over DevTools."""

    def __init__(self, flags=()):
        self.profile = tempfile.mkdtemp(prefix="homecall-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, *flags, "--user-data-dir=" + self.profile,
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

    async def open(self, url, context=False, width=None, height=None):
        """A page at url (its session id); context: in a browser context
        of its own, like another person's browser."""
        params = {"url": url}
        if context:
            created = await self.call("Target.createBrowserContext")
            params["browserContextId"] = created["browserContextId"]
        if width:
            params.update(width=width, height=height)
        target = await self.call("Target.createTarget", params)
        attached = await self.call("Target.attachToTarget",
                                   {"targetId": target["targetId"],
                                    "flatten": True})
        return attached["sessionId"]

    async def value(self, session, expression):
        reply = await self.call("Runtime.evaluate",
                                {"expression": expression,
                                 "returnByValue": True}, session)
        return reply["result"].get("value")

    async def wait_value(self, session, expression, timeout=30, every=0.2):
        """Evaluates expression until it is truthy; returns it (or the last
        value, falsy, when the time is up)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.value(session, expression)
            if value or loop.time() > deadline:
                return value
            await asyncio.sleep(every)

    async def promise(self, session, expression):
        """The value of a promise-returning expression, once it settles."""
        reply = await self.call("Runtime.evaluate",
                                {"expression": expression,
                                 "awaitPromise": True,
                                 "returnByValue": True}, session)
        if "exceptionDetails" in reply:
            raise AssertionError("%s: %s" % (expression,
                                             reply["exceptionDetails"]))
        return reply["result"].get("value")

    async def screenshot(self, session, path):
        shot = await self.call("Page.captureScreenshot", {"format": "png"},
                               session)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

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
