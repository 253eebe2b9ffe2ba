"""A fake Telegram Bot API on loopback, for the notifier's tests.

Listens on 127.0.0.1 port 0 in a thread, records every request (time,
method, parsed JSON body) and answers sendMessage from a script the test
sets: "ok", a status with a JSON body (429 with parameters.retry_after,
500, 400...), "garbage" (200 that is not JSON), "huge" (a reply far over
any sane size), or "hang" (never answers until the fake stops). getUpdates
long-polls like the real one: it answers as soon as an update with an id
at or after `offset` exists, or with an empty list after `timeout` s.
"""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_MAX = 60   # a hanging answer gives up after this long in any case


class FakeTelegram:
    def __init__(self, token):
        self.token = token
        self.requests = []      # every request, in arrival order
        self.script = []        # answers for the next sendMessage calls
        self.default = "ok"     # answer when the script is empty
        self.updates = []       # queued updates, ids ascending
        self.next_update_id = 1000
        self.hanging = 0        # requests held right now
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

            def do_POST(self):
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    # --- test side -------------------------------------------------------

    def stop(self):
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def add_update(self, chat, text):
        with self.cond:
            self.updates.append({
                "update_id": self.next_update_id,
                "message": {"message_id": self.next_update_id,
                            "chat": {"id": chat, "type": "private"},
                            "date": int(time.time()), "text": text}})
            self.next_update_id += 1
            self.cond.notify_all()

    def calls(self, method):
        with self.cond:
            return [r for r in self.requests if r["method"] == method]

    def sends(self, chat=None, contains=None):
        """sendMessage requests, optionally for one chat or with a text."""
        return [r for r in self.calls("sendMessage")
                if (chat is None or r["body"].get("chat_id") == chat)
                and (contains is None
                     or contains in r["body"].get("text", ""))]

    def wait(self, predicate, timeout):
        """Waits until predicate() is true (then returns its value)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "fake Telegram: condition not met in %ss; requests:"
                        "\n%s" % (timeout, "\n".join(
                            "%s %s" % (r["method"], r["body"])
                            for r in self.requests[-20:])))
                self.cond.wait(left)

    def wait_sends(self, count, timeout, **match):
        return self.wait(lambda: len(self.sends(**match)) >= count
                         and self.sends(**match), timeout)

    # --- server side (handler threads) ------------------------------------

    def _reply(self, handler, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass                # the client gave up: that is its right

    def _handle(self, handler):
        url = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        prefix = "/bot%s/" % self.token
        method = url.path[len(prefix):] if url.path.startswith(prefix) \
            else None
        record = {"time": time.monotonic(), "method": method,
                  "http": handler.command, "body": body,
                  "query": urllib.parse.parse_qs(url.query),
                  "content_type": handler.headers.get("Content-Type")}
        with self.cond:
            self.requests.append(record)
            self.cond.notify_all()
            answer = "ok"
            if method == "sendMessage":
                answer = self.script.pop(0) if self.script else self.default
        if method is None:
            self._reply(handler, 401, {"ok": False, "error_code": 401,
                                       "description": "Unauthorized"})
        elif method.startswith("getUpdates"):
            self._updates(handler, record["query"])
        elif method != "sendMessage":
            self._reply(handler, 404, {"ok": False, "error_code": 404,
                                       "description": "Not Found"})
        elif answer == "ok":
            self._reply(handler, 200, {"ok": True, "result": {
                "message_id": len(self.requests),
                "chat": {"id": body.get("chat_id")},
                "text": body.get("text")}})
        elif answer == "garbage":
            self._reply(handler, 200, b"<html>surprise</html>")
        elif answer == "huge":
            self._reply(handler, 200, b"[" + b"0," * (2 << 20) + b"0]")
        elif answer == "hang":
            with self.cond:
                self.hanging += 1
                self.cond.notify_all()
            self.stopping.wait(HANG_MAX)
            with self.cond:
                self.hanging -= 1
                self.cond.notify_all()
        else:
            status, reply = answer
            self._reply(handler, status, reply)

    def _updates(self, handler, query):
        offset = int(query.get("offset", ["0"])[0])
        timeout = min(int(query.get("timeout", ["0"])[0]), 30)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self.stopping.is_set():
                    break
                self.cond.wait(left)
        self._reply(handler, 200, {"ok": True, "result": ready})


def too_many(retry_after):
    return (429, {"ok": False, "error_code": 429,
                  "description": "Too Many Requests: retry after %d"
                  % retry_after,
                  "parameters": {"retry_after": retry_after}})


def server_error():
    return (500, {"ok": False, "error_code": 500,
                  "description": "Internal Server Error"})
