"""requests connection pools whose connections obey the attempt's ``deadline.Deadline`` and
read at most ``WIRE_BYTES`` of a reply from the socket.

``install_default`` makes every urllib3 pool in the process use them: the Apprise bridge reads
replies through Apprise's own ``requests`` calls, which our ``HttpClient`` cannot stream.
"""

from __future__ import annotations

import http.client
import io
import socket
from typing import Any

import urllib3.poolmanager
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ruleengine.senders.deadline import current

#: Bytes of one reply read from the socket (headers, framing and compressed body included).
WIRE_BYTES = 1024 * 1024


class _CappedRaw(io.RawIOBase):
    """A socket's raw reader that fails instead of reading past its budget."""

    def __init__(self, raw: Any, budget: int) -> None:
        super().__init__()
        self.raw, self.left = raw, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError(f"reply longer than {WIRE_BYTES} bytes: not read further")
        count: int = self.raw.readinto(memoryview(buffer)[: self.left]) or 0
        self.left -= count
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


class _CappedSocket:
    """What ``http.client.HTTPResponse`` asks of a socket: a reader for the reply."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def makefile(self, _mode: str) -> io.BufferedReader:
        return io.BufferedReader(_CappedRaw(self.sock.makefile("rb", buffering=0), WIRE_BYTES))


class _CappedResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(_CappedSocket(sock), *args, **kwargs)  # type: ignore[arg-type]


class _Watched:
    """Mixin for urllib3 connections: each request registers with this thread's deadline;
    replies are read through ``_CappedResponse``."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = current()
        if deadline is not None:
            deadline.watch(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    response_class = _CappedResponse


class _HTTPSConnection(_Watched, HTTPSConnection):
    response_class = _CappedResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections (direct or through an HTTP proxy) obey
    ``Deadline``. SOCKS proxies keep their own pools: there only socket timeouts apply."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def install_default() -> None:
    """Every urllib3 pool made from now on, in any library, uses these connections (outside
    an attempt with a ``Deadline`` only the reply cap applies)."""
    urllib3.poolmanager.pool_classes_by_scheme.update(_POOLS)
