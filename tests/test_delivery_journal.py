"""Deliveries are journaled right after each send and folded into the outbox in batches
(``state.journal``): what a killed worker journaled is recorded at the next start, never sent
again; a worker catching up records every delivery, with its history, by the time it is idle.

Real stores on disk, real webhook workers against the loopback receiver.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from ruleengine.dispatch import Dispatcher, worker
from ruleengine.redact import Redactor
from ruleengine.state import Store
from ruleengine.state.history import Query
from ruleengine.state.journal import DeliveryJournal
from tests.support.dispatch_helpers import enqueue, note, route, running
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply
from tests.support.rulekit import line, ruleset


def journals(state: Path) -> list[Path]:
    return sorted(state.glob("delivered.*.journal"))


def test_what_a_killed_worker_journaled_is_recorded_at_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = Store(state)
    enqueue(store, None, *(note("room", f"message {i}") for i in range(3)))
    first, second, third = store.pending("room", 3)
    journal = store.journal()
    journal.record([(first.seq, None, None), (second.seq, "thread_key ignored", "msg-2")])
    journal.close(folded=False)  # killed before folding: the file stays
    with open(journal.path, "a") as torn:
        torn.write('[99, "cut sh')  # a line the kill cut short is ignored
    store.close()

    store = Store(state)
    try:
        assert store.recover_deliveries() == 2
        assert journals(state) == []
        rows = {r["seq"]: r for r in outbox_rows(state)}
        assert [rows[r.seq]["state"] for r in (first, second, third)] == [
            "delivered",
            "delivered",
            "pending",
        ]
        assert rows[second.seq]["last_error"] == "warning: thread_key ignored"
        history = store.history(Query())
        assert [(h.text, h.outcome) for h in history] == [
            ("message 0", "delivered"),
            ("message 1", "delivered"),
        ]
        assert store.recover_deliveries() == 0  # once only
        assert len(store.history(Query())) == 2
    finally:
        store.close()


def test_a_row_settled_before_the_kill_is_not_recorded_twice(tmp_path: Path) -> None:
    """Killed between the fold's commit and emptying the journal."""
    state = tmp_path / "state"
    store = Store(state)
    try:
        enqueue(store, None, note("room", "only once"))
        (row,) = store.pending("room", 1)
        journal = store.journal()
        journal.record([(row.seq, None, None)])
        store.settle_delivered([(row, None, None)])
        journal.close(folded=False)
        assert store.recover_deliveries() == 0
        assert len(store.history(Query())) == 1
        assert journals(state) == []
    finally:
        store.close()


def test_a_catch_up_is_recorded_in_batches_and_complete_when_idle(tmp_path: Path) -> None:
    count = worker.BATCH * 2 + 7  # more than one batch, and a partial one
    state = tmp_path / "state"
    store = Store(state)
    redactor = Redactor()
    with Receiver() as receiver:
        enqueue(store, None, *(note("hook", f"line {i}") for i in range(count)))
        with running({"hook": route("hook", redactor, url=receiver.url)}, store, redactor) as d:
            assert d.wait_drained(60.0)
            assert [r.json()["text"] for r in receiver.requests] == [
                f"line {i}" for i in range(count)
            ]
            assert {r["state"] for r in outbox_rows(state)} == {"delivered"}
            assert len(store.history(Query(limit=count + 1))) == count
            assert len(journals(state)) == 1  # the running worker's, empty
            assert journals(state)[0].stat().st_size == 0
            assert journals(state)[0].stat().st_mode & 0o777 == 0o600
    assert journals(state) == []  # a worker that stopped folded and removed its journal
    store.close()


def test_a_worker_replaced_while_stuck_in_a_send_has_its_deliveries_recorded(
    tmp_path: Path,
) -> None:
    """A reload replacing a destination whose worker does not stop in time: what it delivered
    before the stuck send is recorded, so its successor does not send it again."""
    state = tmp_path / "state"
    store = Store(state)
    redactor = Redactor()
    third = threading.Event()
    answered: list[str] = []

    def answer(_method: str, path: str, _body: bytes) -> Reply:
        answered.append(path)
        if len(answered) == 3:
            third.set()
            return Reply(delay=3.0)  # the worker is stuck in this send
        return Reply()

    with Receiver() as receiver:
        receiver.answer = answer
        enqueue(store, None, *(note("hook", f"line {i}") for i in range(3)))
        hook = route("hook", redactor, url=receiver.url)
        dispatcher = Dispatcher({"hook": hook}, store, redactor)
        dispatcher.start()
        try:
            assert third.wait(10.0)
            assert dispatcher.remove("hook", timeout=0.5)
            assert any(t.name == "deliver-hook" for t in threading.enumerate())  # still stuck
            states = [r["state"] for r in outbox_rows(state)]
            assert states == ["delivered", "delivered", "pending"]
        finally:
            dispatcher.stop(10.0)
            eventually(lambda: not any(t.name == "deliver-hook" for t in threading.enumerate()))
    store.close()


class _NoJournal(Store):
    """A state directory where the journal cannot be created (stands in for a full disk: the
    database's own files already exist, so only a new file fails)."""

    def journal(self) -> DeliveryJournal:
        raise OSError(28, "No space left on device")


def test_without_a_journal_each_delivery_is_recorded_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = _NoJournal(state)
    redactor = Redactor()
    with Receiver() as receiver:
        enqueue(store, None, *(note("hook", f"line {i}") for i in range(5)))
        with running({"hook": route("hook", redactor, url=receiver.url)}, store, redactor) as d:
            assert d.wait_drained(30.0)
            assert len(receiver.requests) == 5
            assert {r["state"] for r in outbox_rows(state)} == {"delivered"}
            assert journals(state) == []
    store.close()


def test_offered_only_when_every_row_is_new(tmp_path: Path) -> None:
    """A commit whose rows are all new is handed to the workers (read back without decoding);
    one with an id the outbox already had is not: the stored row stays what is sent."""
    rules = ruleset("- {name: r, source: log, match: 'disk', message: '{{ line }}'}")
    engine, store, _ = make_engine(rules, tmp_path / "state", Clock())
    offered: list[list[str]] = []
    engine.offer = lambda notes: offered.append([n.text for n in notes])
    feed(engine, line("disk full", offset=1))
    feed(engine, line("disk full", offset=1), line("disk gone", offset=2))  # one id is known
    assert offered == [["disk full"]]
    assert texts(store) == ["disk full", "disk gone"]
    store.close()


def test_a_worker_sends_the_offered_rows_and_decodes_the_rest(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = Store(state)
    redactor = Redactor()
    with Receiver() as receiver:
        first, second = note("hook", "one"), note("hook", "two")
        enqueue(store, None, first, second)
        hook = route("hook", redactor, url=receiver.url)
        dispatcher = Dispatcher({"hook": hook}, store, redactor)
        # As the engine does after its commit (the same object it stored; marked here so the
        # test sees which one was sent): that row is not decoded again.
        dispatcher.offer([dataclasses.replace(first, text="one, as handed over")])
        dispatcher.start()
        try:
            assert dispatcher.wait_drained(30.0)
            sent = [r.json()["text"] for r in receiver.requests]
            assert sent == ["one, as handed over", "two"]
            assert {r["state"] for r in outbox_rows(state)} == {"delivered"}
        finally:
            dispatcher.stop(10.0)
    store.close()
