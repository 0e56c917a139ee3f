"""A worker catching up hands a batching sender (the console) many due rows per call: one
write for them all, one journal line each, in order, and a failed write leaves every row of
its batch pending for the retry, none lost or printed twice."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import pytest

from ruleengine.redact import Redactor
from ruleengine.state import Store
from tests.support.dispatch_helpers import enqueue, note, route, running
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually

FAST = {"backoff": "50ms", "backoff_max": "100ms"}


class CountingStream:
    """A real file, counting the writes that reach it (the console writes to ``sys.stdout``)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.encoding = inner.encoding
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return False


def console(redactor: Redactor, **settings: Any) -> dict[str, Any]:
    return {"screen": route("screen", redactor, type="console", color_output="never", **settings)}


def test_a_backlog_is_printed_in_order_with_few_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redactor, store = Redactor(), Store(tmp_path / "state")
    enqueue(store, None, *(note("screen", f"message {i}") for i in range(600)))
    with open(tmp_path / "out.txt", "w", encoding="utf-8") as out:
        stream = CountingStream(out)
        monkeypatch.setattr(sys, "stdout", stream)
        with running(console(redactor), store, redactor):
            eventually(lambda: not outbox_rows(tmp_path / "state", state_is="pending"))
    printed = (tmp_path / "out.txt").read_text().splitlines()
    assert [line.rsplit(": ", 1)[1] for line in printed] == [f"message {i}" for i in range(600)]
    assert stream.writes <= 600 // 100  # batches of up to 256 rows, not one write per row
    assert not list((tmp_path / "state").glob("delivered.*.journal"))  # folded, removed
    store.close()


def test_a_failed_write_leaves_its_whole_batch_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # every write to this pipe fails: EPIPE
    broken = open(writer, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", broken)
    redactor, store = Redactor(), Store(tmp_path / "state")
    enqueue(store, None, *(note("screen", f"message {i}") for i in range(50)))
    with (
        open(tmp_path / "out.txt", "w", encoding="utf-8") as out,
        running(console(redactor, retry=FAST), store, redactor),
    ):
        eventually(
            lambda: any(
                "cannot write to stdout" in (row["last_error"] or "")
                for row in outbox_rows(tmp_path / "state")
            )
        )
        rows = outbox_rows(tmp_path / "state")
        assert {row["state"] for row in rows} == {"pending"}
        assert [row["attempts"] for row in rows] == [1] + [0] * 49  # only the head failed
        monkeypatch.setattr(sys, "stdout", out)  # the stream works again
        eventually(lambda: not outbox_rows(tmp_path / "state", state_is="pending"))
    with contextlib.suppress(BrokenPipeError):
        broken.close()
    printed = (tmp_path / "out.txt").read_text().splitlines()
    assert [line.rsplit(": ", 1)[1] for line in printed] == [f"message {i}" for i in range(50)]
    store.close()
