"""The intake's seam with the engine, without HTTP: 202 waits for ``on_committed``, a
commit that does not come in time is a 503 and keeps the key held, so a retry meanwhile
waits instead of storing the events twice. Also the idempotency keys' retention window, the
figures ``status`` shows, and what the ``ruleengine`` destination sends."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ruleengine.config.destinations import RuleengineDestination
from ruleengine.model import Batch, Notification
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext, make_sender
from ruleengine.sources.http import counts
from ruleengine.sources.http.counts import Tally
from ruleengine.sources.http.guard import Clients, Pace
from ruleengine.sources.http.intake import Intake, Request
from ruleengine.sources.http.keys import Keys
from ruleengine.sources.http.parse import Limits
from ruleengine.state import Store

TOKEN = "token-0123456789abcdef"  # noqa: S105 - a test token


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Store(tmp_path / "state")
    yield opened
    opened.close()


def committing(store: Store) -> Callable[[Batch], None]:
    """The engine's part, at once: commit a batch's positions, then say it is durable."""

    def emit(batch: Batch) -> None:
        store.commit([], batch.positions)
        if batch.on_committed is not None:
            batch.on_committed(True)

    return emit


def make_intake(
    store: Store, emit: Any, ack_timeout: float, clock: Any = None, tally: Tally | None = None
) -> Intake:
    """An intake whose batches of events go to ``emit``; its figures for ``status``
    (batches without events) are committed at once."""

    def route(batch: Batch) -> None:
        (emit if batch.events else committing(store))(batch)

    keys = Keys(store.positions_of("in"), 3600.0, *(() if clock is None else (clock,)))
    intake = Intake(
        "in", route, clients=Clients({"c": TOKEN}, anonymous=False), pace=Pace(1000, 1000),
        keys=keys, limits=Limits(), max_body=65536, ack_timeout=ack_timeout,
        tally=tally or Tally("in", "http://127.0.0.1:1"),
    )  # fmt: skip
    intake.ready.set()
    return intake


def call(intake: Intake, body: Any, key: str | None = "k1") -> tuple[str, dict[str, Any]]:
    """A request as the server hands it to the intake, on an event loop of its own."""
    data = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "content-length": str(len(data)),
        "authorization": f"Bearer {TOKEN}",
        **({"idempotency-key": key} if key else {}),
    }

    async def read(_limit: int) -> bytes:
        return data

    answer = asyncio.run(intake.handle(Request("POST", "/v1/events", headers, read)))
    return str(answer.status), answer.body


def test_no_commit_in_time_is_503_and_a_retry_waits_for_the_late_commit(store: Store) -> None:
    held: list[Batch] = []
    intake = make_intake(store, held.append, ack_timeout=0.05)
    status, answer = call(intake, {"type": "t"})
    assert status.startswith("503") and answer["error"] == "not_durable_yet"
    assert len(held) == 1  # emitted, not yet committed

    def commit_later() -> None:
        store.commit([], held[0].positions)
        assert held[0].on_committed is not None
        held[0].on_committed(False)

    # The retry finds the key still held; it is answered once the first batch commits.
    intake.ack_timeout = 10.0
    timer = threading.Timer(0.2, commit_later)
    timer.start()
    status, answer = call(intake, {"type": "t"})
    timer.join()
    assert status.startswith("202")
    assert answer == {"accepted": 0, "duplicates": 1}
    assert len(held) == 1  # nothing emitted twice


def test_keys_expire_after_the_retention_window(store: Store) -> None:
    now = [1_000_000.0]

    intake = make_intake(store, committing(store), 5.0, clock=lambda: now[0])
    assert call(intake, {"type": "t"})[1] == {"accepted": 1, "duplicates": 0}
    assert call(intake, {"type": "t"})[1] == {"accepted": 0, "duplicates": 1}
    now[0] += 3601.0  # past the window: the same key is a new request
    assert call(intake, {"type": "t"})[1] == {"accepted": 1, "duplicates": 0}
    # The state side prunes by the row's commit time (the real clock).
    assert intake.keys.positions.expire("idem:", time.time() + 1) == 1


def test_status_figures_are_committed_at_most_once_a_second(store: Store) -> None:
    now = [100.0]

    tally = Tally("in", "https://[::1]:8470", clock=lambda: now[0])
    intake = make_intake(store, committing(store), 5.0, tally=tally)

    def stored() -> counts.Counts | None:
        return counts.decode(store.position("in", counts.KEY))

    call(intake, [{"type": "t"}, {"type": "u"}])
    first = stored()
    assert first is not None
    assert (first.listen, first.requests, first.events) == ("https://[::1]:8470", 1, 2)
    call(intake, [{"type": "t"}, {"type": "u"}])  # a duplicate key: acknowledged, not stored
    call(intake, {"no": "type"}, key="k2")
    assert stored() == first  # within the second: nothing written yet
    now[0] += 1.0
    intake.tally.rejected(401)
    call(intake, {"type": "t"}, key=None)
    latest = stored()
    assert latest is not None
    assert (latest.requests, latest.events, latest.duplicates) == (3, 3, 2)
    assert latest.rejected == {"401": 1, "422": 1}
    intake.ready.clear()  # stopping: only the final report is written
    now[0] += 5.0
    call(intake, {"type": "t"}, key="k3")
    assert stored() == latest
    intake.report(now=True)
    final = stored()
    assert final is not None and final.rejected == {"401": 1, "422": 1, "503": 1}


def test_unreadable_status_figures_are_none() -> None:
    assert counts.decode(None) is None
    assert counts.decode("[1]") is None
    assert counts.decode('{"listen": "x"}') is None


def test_the_ruleengine_destination_sends_a_cloudevent_and_masks_its_token() -> None:
    settings = RuleengineDestination(type="ruleengine", url="http://central:8470", token=TOKEN)
    sender = make_sender(settings, SenderContext("central", Redactor([TOKEN])))
    note = Notification(
        id="row-1", destination="central", rule="fwd", source="drops", text="h1 rebooted",
        created=0.0, fields={"host": "h1", "data": {"x": 1}, "client": "z", "kb": "KB1"},
    )  # fmt: skip
    preview = sender.preview(note)
    sender.close()
    assert TOKEN not in json.dumps(preview)
    assert preview["headers"]["Content-Type"] == "application/cloudevents+json"
    body = json.loads(preview["data"])
    assert body["id"] == "row-1"
    assert body["type"] == "ruleengine.fwd"
    assert body["subject"] == "h1"
    assert body["data"]["kb"] == "KB1"
    assert "client" not in body["data"] and "data" not in body["data"]
