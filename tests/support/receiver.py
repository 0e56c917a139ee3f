"""A real HTTP receiver on loopback, in a thread, that records requests and answers as scripted.

Every sender and end-to-end test talks to this instead of a mock: real sockets, real HTTP.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Reply:
    """How to answer one request."""

    status: int = 200
    body: str | bytes = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for timeouts)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float
    reply: Reply = field(default_factory=Reply)  # how it was answered

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Receiver:
    """``with Receiver() as r:`` → ``r.url``; script with ``r.reply(...)``; read ``r.requests``."""

    def __init__(self, port: int = 0) -> None:
        """``port`` 0 picks a free one; a given port lets a test bring a receiver back."""
        self.requests: list[Request] = []
        self._script: deque[Reply] = deque()
        self.default = Reply()
        # When set, answers every unscripted request (e.g. randomly, for chaos tests).
        self.responder: Callable[[], Reply] | None = None
        # When set, answers unscripted requests from what they ask (method, path, body): a
        # service that gives ids (``discord_messages``, ``matrix_events``).
        self.answer: Callable[[str, str, bytes], Reply] | None = None
        self._cond = threading.Condition()
        self._connections: set[socket.socket] = set()  # open keep-alive connections
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the second waits for the
            # client's delayed ACK (~40 ms per request), which would distort every timing.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver._cond:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._cond:
                    receiver._connections.discard(self.connection)
                super().finish()

            def _handle(self) -> None:
                arrived = time.time()  # before reading: what pacing and latency are about
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:  # the client died mid-request (a kill -9 test):
                    self.close_connection = True  # a real server never sees it whole either
                    return
                with receiver._cond:
                    if receiver._script:
                        reply = receiver._script.popleft()
                    elif receiver.answer is not None:
                        reply = receiver.answer(self.command, self.path, body)
                    elif receiver.responder is not None:
                        reply = receiver.responder()
                    else:
                        reply = receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                with receiver._cond:
                    receiver.requests.append(
                        Request(
                            self.command,
                            self.path,
                            dict(self.headers.items()),
                            body,
                            arrived,
                            reply,
                        )
                    )
                    receiver._cond.notify_all()
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test): nothing to answer

            do_POST = do_PUT = do_GET = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read ``requests`` instead."""

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            name="receiver",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def reply(self, *replies: Reply) -> None:
        """Queue answers for the next requests, in order; afterwards ``default`` answers."""
        with self._cond:
            self._script.extend(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Block until ``count`` requests arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} requests within {timeout}s, got {len(self.requests)}"
                    )
                self._cond.wait(left)
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        # A stopped receiver is really down: keep-alive connections would otherwise still be
        # served by their handler threads (outage tests need connection refused/reset).
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)


def discord_messages() -> Callable[[str, str, bytes], Reply]:
    """Answers as a Discord webhook does: ``?wait=true`` posts get the new message (200 with its
    ``id``: 1, 2, …), edits (PATCH ``…/messages/{id}``) the edited message, others 204."""
    ids = itertools.count(1)

    def answer(method: str, path: str, _body: bytes) -> Reply:
        url = urlsplit(path)
        if method == "PATCH":
            return Reply(200, json.dumps({"id": url.path.rsplit("/", 1)[-1]}))
        if method == "POST" and ("wait", "true") in parse_qsl(url.query):
            return Reply(200, json.dumps({"id": str(next(ids)), "type": 0}))
        return Reply(204, "")

    return answer


def matrix_events() -> Callable[[str, str, bytes], Reply]:
    """Answers as a homeserver does: every ``PUT …/send/…/{txnId}`` gets ``$<txnId>`` as its
    event id (the same transaction, the same event)."""

    def answer(method: str, path: str, _body: bytes) -> Reply:
        txn = urlsplit(path).path.rsplit("/", 1)[-1]
        return Reply(200, json.dumps({"event_id": f"${txn}"}))

    return answer
