"""Hostile servers on loopback, in threads: real sockets that answer the way attackers do.

``HostileServer(script)`` accepts connections and runs ``script(conn, server)`` for each; the
scripts below stream an endless body, trickle a reply a byte at a time, or echo the request's
credentials back in an error. ``sent`` counts the bytes a script got out (the client read them
or they sit in socket buffers): what a test asserts on instead of time or memory.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections.abc import Callable

Script = Callable[[socket.socket, "HostileServer"], None]


class HostileServer:
    """``with HostileServer(script) as s:`` → ``s.url`` / ``s.port``; ``s.sent`` bytes."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent = 0
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="hostile-accept")

    def count(self, n: int) -> None:
        with self._lock:
            self.sent += n

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._run, args=(conn,), name="hostile-conn")
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            self.script(conn, self)

    def __enter__(self) -> HostileServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._accept.join(5)
        self._sock.close()
        for thread in self._threads:
            thread.join(5)


def read_request(conn: socket.socket) -> bytes:
    """The request head and as much body as its Content-Length says (enough for our senders)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            while len(body) < int(value):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
    return head


def endless(limit: int = 256 * 1024 * 1024, status: int = 500) -> Script:
    """An HTTP reply whose body never ends (no length; stops at ``limit`` to end the test)."""

    def script(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn)
        conn.sendall(f"HTTP/1.1 {status} Oops\r\nContent-Type: text/plain\r\n\r\n".encode())
        block = b"A" * 65536
        while server.sent < limit and not server.stopped.is_set():
            conn.sendall(block)
            server.count(len(block))

    return script


def trickle(reply: bytes, interval: float = 0.05) -> Script:
    """``reply`` one byte every ``interval`` seconds, after reading the request (HTTP) or at
    once (``reply`` starting with ``220``: an SMTP greeting). Each byte comes well within any
    socket timeout, so only a deadline for the whole attempt ends it."""

    def script(conn: socket.socket, server: HostileServer) -> None:
        if not reply.startswith(b"220"):
            read_request(conn)
        for byte in reply:
            if server.stopped.wait(interval):
                return
            conn.sendall(bytes([byte]))
            server.count(1)

    return script


HTTP_TRICKLE = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\nok"
)
SMTP_TRICKLE = b"220 " + b"a" * 4000 + b"\r\n"


def echo_auth(status: int = 500) -> Script:
    """An error reply quoting the request's Authorization header, raw and decoded, in the
    JSON shape services use (``{"error": {"message": …}}``) and as plain text."""

    def script(conn: socket.socket, server: HostileServer) -> None:
        head = read_request(conn).decode("latin-1")
        auth = next(
            (
                line.partition(":")[2].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("authorization:")
            ),
            "",
        )
        decoded = ""
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth[6:]).decode("latin-1")
        message = f"denied {auth} ({decoded}) raw={auth.partition(' ')[2]}"
        body = json.dumps({"error": {"message": message}}).encode()
        conn.sendall(
            f"HTTP/1.1 {status} Denied\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        server.count(len(body))

    return script
