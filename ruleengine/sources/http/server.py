"""Serving the intake: uvicorn's HTTP/1.1 server on an asyncio loop in one thread.

The request line and headers are parsed by httptools (C) where it imports, else by h11 (pure
Python, a quarter of the speed). Parsing in Python was most of the CPU a one-event request
cost, and every request thread waiting for its commit woke through the GIL: on the loop a
request waiting for the engine is a future, not a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from ruleengine.sources.http.intake import Answer, Intake, Request

log = logging.getLogger(__name__)
ACCEPT_BACKLOG = 128  # a burst of 50 clients connecting at once must not be reset
MAX_HEAD = 64 * 1024  # bytes of request line and headers
MAX_CONNECTIONS = 1024  # beyond: 503 from the server itself, before any reading
STOP_TIMEOUT = 5.0  # seconds in-flight requests get to finish at stop
START_TIMEOUT = 10.0
# Python's own default cipher list (TLS 1.2 is its minimum), spelled out: older uvicorn
# releases replaced it with "TLSv1".
TLS_CIPHERS = (
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools wheel here: uvicorn parses with h11 instead
    PROTOCOL: Any = "h11"
else:

    class _BoundedHead(HttpToolsProtocol):
        """httptools does not bound the request line and headers: this does (h11 has its
        own bound). A request over it is refused with 400 and its connection closed."""

        _head = 0

        def on_message_begin(self) -> None:
            self._head = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._head += size
            if self._head > MAX_HEAD:
                raise ValueError("request head too large")  # the parser's callback error

    PROTOCOL = _BoundedHead


def listen(address: str, port: int) -> socket.socket:
    """The listening socket (bound here, so a port in use is our error, not uvicorn's).

    Made with ``IPPROTO_TCP`` spelled out: asyncio turns Nagle's algorithm off only on
    connections whose socket says so, and ``socket.create_server`` leaves it 0 (a response's
    head and body then waited ~40 ms for the client's delayed ACK).
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":  # a restart may bind at once; on Windows it would share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(ACCEPT_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """``intake`` served on ``sock`` until ``stop``; at most ``concurrent`` requests are
    handled at once, more wait their turn."""

    def __init__(
        self,
        intake: Intake,
        sock: socket.socket,
        *,
        name: str,
        concurrent: int,
        tls: tuple[str, str, str | None] | None = None,  # cert, key, client CA
    ) -> None:
        self._sock = sock
        cert, key, client_ca = tls if tls is not None else (None, None, None)
        self._config = uvicorn.Config(
            _application(intake, concurrent),
            http=PROTOCOL,
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_config=None,
            access_log=False,
            log_level=logging.ERROR,  # not its start-up lines, nor a warning per bad request
            server_header=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
            h11_max_incomplete_event_size=MAX_HEAD,
            ssl_certfile=cert,
            ssl_keyfile=key,
            ssl_ca_certs=client_ca,
            ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
            ssl_ciphers=TLS_CIPHERS,
        )
        self._config.load()  # TLS files are read here: OSError or ssl.SSLError
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._serve, name=f"http-{name}", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        if not self._server.started:
            self._sock.close()
            raise OSError("the HTTP server did not start (see the log)")

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("http server stopped on an error")

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        closing = asyncio.create_task(self._close_idle())
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            closing.cancel()

    async def _close_idle(self) -> None:
        """Once stopping, drop every connection not in the middle of a request, again and
        again until the server ends. uvicorn closes them gracefully, but a TLS connection
        waits there for the client's close_notify (up to 30 s in asyncio), which a client
        keeping an idle connection in its pool never sends."""
        assert self._stopping is not None  # noqa: S101 - set with the task
        await self._stopping.wait()
        while True:
            for connection in list(self._server.server_state.connections):
                cycle = getattr(connection, "cycle", None)
                if cycle is None or cycle.response_complete:
                    connection.transport.abort()
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        """Stop accepting; requests in flight get ``STOP_TIMEOUT`` to finish."""
        self._server.should_exit = True
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(STOP_TIMEOUT + 2)
        self._sock.close()


def _application(
    intake: Intake, concurrent: int
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    turns: asyncio.Semaphore | None = None  # made on the loop, at the first request

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal turns
        if scope["type"] != "http":  # lifespan is off, websockets are off
            return
        if turns is None:
            turns = asyncio.Semaphore(concurrent)
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value

        async def read(limit: int) -> bytes:
            body = bytearray()
            more = True
            while more and len(body) <= limit:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
            return bytes(body)

        async with turns:
            answer = await intake.handle(Request(scope["method"], scope["path"], headers, read))
        await _send(send, answer)

    return app


async def _send(send: Send, answer: Answer) -> None:
    data = json.dumps(answer.body).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode("ascii")),
        (b"cache-control", b"no-store"),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers
        ),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
