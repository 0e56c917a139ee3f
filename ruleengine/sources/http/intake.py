"""The intake: what the http source does with a request, whatever serves it.

``POST /v1/events`` answers 202 only once the engine has committed the events, their
notifications and their idempotency keys in one transaction (``Batch.on_committed``); the
engine commits the batches of concurrent requests together (group commit). Every refusal is a
4xx JSON error, given before anything is emitted. ``/healthz`` says the server runs,
``/readyz`` that it accepts events.

``handle`` runs on the server's event loop and never waits there for the engine: a request
waiting for its commit is a pending future, resolved from the engine thread. Only handing a
batch to a full engine queue blocks the loop, which is the intake's backpressure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ruleengine.model import Batch, Position, stable_id
from ruleengine.sources.base import Emit
from ruleengine.sources.http.counts import Tally
from ruleengine.sources.http.guard import Clients, Pace
from ruleengine.sources.http.keys import MAX_KEY, Keys, position_key
from ruleengine.sources.http.parse import Incoming, Limits, Rejected, make_event, parse_events

log = logging.getLogger(__name__)
# Names the events of a request without a key: unique per process start (as random as a
# UUID's 64 bits where it matters) without a system call per request.
_RUN = secrets.token_hex(8)
_REQUESTS = itertools.count()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case; a repeated header joined by ", "
    #: Reads the body, stopping once it holds more than the given number of bytes.
    read: Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


class Intake:
    def __init__(
        self,
        source: str,
        emit: Emit,
        *,
        clients: Clients,
        pace: Pace,
        keys: Keys,
        limits: Limits,
        max_body: int,
        ack_timeout: float,
        tally: Tally,
    ) -> None:
        self.source = source
        self.emit = emit
        self.clients, self.pace, self.keys, self.limits = clients, pace, keys, limits
        self.tally = tally
        self.max_body = max_body
        self.ack_timeout = ack_timeout
        self.ready = threading.Event()

    async def handle(self, request: Request) -> Answer:
        path, method = request.path, request.method
        try:
            if path in ("/healthz", "/readyz"):
                return self._probe(path, method)
            if path != "/v1/events":
                raise Rejected(404, "not_found", f"no such endpoint {path[:100]!r}")
            if method != "POST":
                raise Rejected(405, "method_not_allowed", "POST events to /v1/events")
            accepted = await self._post(request)
        except Rejected as exc:
            if exc.status >= 500:
                log.warning("http source %s: %s", self.source, exc)
            self.tally.rejected(exc.status)
            self.report()
            return Answer(exc.status, exc.body, exc.headers)
        self.tally.accepted(accepted["accepted"], accepted["duplicates"])
        self.report()
        return Answer(202, accepted)

    def report(self, now: bool = False) -> None:
        """Commit the figures ``status`` shows, at most once a second (``now``: the source
        starts or stops; a stopping source reports once, at the end)."""
        if not now and not self.ready.is_set():
            return
        position = self.tally.due(now)
        if position is not None:
            self.emit(Batch((), (position,)))

    def _probe(self, path: str, method: str) -> Answer:
        if method not in ("GET", "HEAD"):
            raise Rejected(405, "method_not_allowed", f"GET {path}")
        if path == "/readyz" and not self.ready.is_set():
            return Answer(503, {"status": "not ready"})
        return Answer(200, {"status": "ok"})

    async def _post(self, request: Request) -> dict[str, Any]:
        if not self.ready.is_set():
            raise Rejected(503, "not_ready", "the source is stopping", (("Retry-After", "1"),))
        headers = request.headers
        client = self.clients.identify(headers.get("authorization"))
        self.pace.take(client)
        header_key = headers.get("idempotency-key")
        if header_key is not None and not 0 < len(header_key) <= MAX_KEY:
            raise Rejected(400, "invalid_idempotency_key", f"1 to {MAX_KEY} characters")
        body = await self._body(request)
        incoming = parse_events(body, headers.get("content-type"), self.limits)
        self.keys.prune()
        return await self._accept(client, incoming, header_key)

    async def _body(self, request: Request) -> bytes:
        too_large = Rejected(
            413,
            "body_too_large",
            f"the body is over {self.max_body} bytes",
            (("Connection", "close"),),  # the rest of the body is not read
        )
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            raise too_large
        body = await request.read(self.max_body)
        if len(body) > self.max_body:
            raise too_large
        return body

    async def _accept(
        self, client: str, incoming: list[Incoming], header_key: str | None
    ) -> dict[str, Any]:
        """Emit what is new and wait until it is committed."""
        if header_key is not None:  # one key for the whole request
            wanted: list[str | None] = [position_key(client, "request", header_key)] * len(incoming)
        else:  # a CloudEvent's own key, or none
            wanted = [_key_of(client, item) for item in incoming]
        keys = {k for k in wanted if k is not None}
        if keys and not await self._claim(keys):
            raise _not_durable("a request with the same key is still being stored")
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def committed(_matched: bool) -> None:  # in the engine thread
            if keys:  # only now: a retry meanwhile waits instead of storing twice
                self.keys.release(keys)
            with contextlib.suppress(RuntimeError):  # the loop has ended: nobody waits
                loop.call_soon_threadsafe(_resolve, done)

        try:
            batch, duplicates = self._batch(client, incoming, wanted, header_key, committed)
            if batch is None:
                self.keys.release(keys)
                return {"accepted": 0, "duplicates": duplicates}
            self.emit(batch)
        except BaseException:
            self.keys.release(keys)  # nothing emitted: the keys are free again
            raise
        try:
            await asyncio.wait_for(done, self.ack_timeout)
        except TimeoutError:
            raise _not_durable("the events are not stored yet") from None
        return {"accepted": len(batch.events), "duplicates": duplicates}

    async def _claim(self, keys: set[str]) -> bool:
        """Hold the request's keys; a retry of a request still in flight waits for it in a
        worker thread, not on the loop."""
        if self.keys.claim(keys, 0.0):
            return True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.keys.claim, keys, self.ack_timeout)

    def _batch(
        self,
        client: str,
        incoming: list[Incoming],
        wanted: list[str | None],
        header_key: str | None,
        committed: Callable[[bool], None],
    ) -> tuple[Batch | None, int]:
        """The batch of what is new (None if nothing is), and how many were duplicates."""
        request = f"{_RUN}-{next(_REQUESTS)}"  # names events of a request without a key
        fresh = {k for k in set(wanted) if k is not None and not self.keys.seen(k)}
        now, events, duplicates, taken = time.time(), [], 0, set[str]()
        for index, (item, key) in enumerate(zip(incoming, wanted, strict=True)):
            if key is not None and (key not in fresh or (key in taken and header_key is None)):
                duplicates += 1  # committed before, or the same CloudEvent twice in this body
                continue
            if key is not None:
                taken.add(key)
            per_event = key is not None and header_key is None  # a CloudEvent names itself
            identity = stable_id(self.source, key or request, "" if per_event else index)
            events.append(make_event(self.source, item, client, identity, now))
        if not events:
            return None, duplicates
        stamp = self.keys.stamp()
        positions = tuple(Position(self.source, key, stamp) for key in sorted(taken))
        return Batch(tuple(events), positions, on_committed=committed), duplicates


def _key_of(client: str, item: Incoming) -> str | None:
    if item.cloud_key is not None:
        return position_key(client, "cloudevent", *item.cloud_key)
    return None


def _not_durable(why: str) -> Rejected:
    return Rejected(
        503,
        "not_durable_yet",
        f"{why}; retry with the same Idempotency-Key (or CloudEvents id)",
        (("Retry-After", "1"),),
    )


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():  # not given up on (ack timeout) meanwhile
        done.set_result(None)
