"""Log file source behaviour on real files with a real Store: start_at, resume, waiting for
files, globs, partial lines, polling, multi-line groups, chunked backlogs and stable ids."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.model import Batch, Position, stable_id
from ruleengine.sources.base import SourceContext
from ruleengine.sources.logfile import source as logfile
from ruleengine.sources.logfile import tailer
from ruleengine.sources.logfile.flow import IN_FLIGHT
from ruleengine.sources.logfile.source import LogfileSource
from ruleengine.sources.watch.dirwatch import DirectoryWatch
from ruleengine.sources.watch.inotify import InotifyWatch
from ruleengine.state import Store
from tests.support.logfile_harness import SOURCE, Harness, duplicates


@pytest.fixture
def make(tmp_path: Path) -> Iterator[type[Harness]]:
    made: list[Harness] = []

    def factory(**settings: object) -> Harness:
        harness = Harness(tmp_path / "state", **settings)
        made.append(harness)
        return harness

    yield factory  # type: ignore[misc]
    for harness in made:
        harness.close()


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def test_start_at_end_skips_what_is_there_and_reads_what_comes(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\n")
    harness = make(paths=[str(log)])
    harness.start()
    append(log, "new 1\nnew 2\n")
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert harness.texts() == ["new 1", "new 2"]


def test_start_at_end_does_not_split_a_line_being_written(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nhalf of a li")
    harness = make(paths=[str(log)])
    harness.start()
    append(log, "ne\nnew 1\n")
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert harness.texts() == ["half of a line", "new 1"]


def test_start_at_beginning_reads_everything(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\n")
    harness = make(paths=[str(log)], start_at="beginning")
    harness.start()
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert harness.texts() == ["a", "b"]


def test_resume_exactly_across_restarts(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("before start\n")
    harness = make(paths=[str(log)])
    harness.start()
    append(log, "one\n")
    assert harness.wait_for(lambda t: t == ["one"])
    harness.stop()
    append(log, "while stopped\n")
    harness.start()  # start_at: end must not skip it: the file is known
    append(log, "after restart\n")
    assert harness.wait_for(lambda t: len(t) >= 3)
    assert harness.texts() == ["one", "while stopped", "after restart"]
    assert harness.outbox_texts() == ["one", "while stopped", "after restart"]


def test_missing_file_is_waited_for(tmp_path: Path, make, caplog) -> None:
    log = tmp_path / "later" / "app.log"
    harness = make(paths=[str(log)])
    with caplog.at_level(logging.INFO, logger="ruleengine.sources.logfile"):
        harness.start()
        log.parent.mkdir()
        log.write_text("first line of a new file\n")
        assert harness.wait_for(lambda t: len(t) >= 1)
    waiting = [r for r in caplog.records if "waiting for" in r.getMessage()]
    assert len(waiting) == 1 and str(log) in waiting[0].getMessage()
    assert harness.texts() == ["first line of a new file"]  # a file that appeared: from 0


def test_glob_picks_up_files_that_appear_later(tmp_path: Path, make) -> None:
    (tmp_path / "a.log").write_text("existing\n")
    harness = make(paths=[str(tmp_path / "*.log")])
    harness.start()
    (tmp_path / "b.log").write_text("b1\n")
    (tmp_path / "c.txt").write_text("not matched\n")
    append(tmp_path / "a.log", "a1\n")
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert sorted(harness.texts()) == ["a1", "b1"]
    paths = {event.fields["path"] for event in harness.events}
    assert paths == {str(tmp_path / "a.log"), str(tmp_path / "b.log")}


def test_last_line_without_newline_is_held_until_complete(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)])
    harness.start()
    append(log, "complete\nhalf")
    assert harness.wait_for(lambda t: len(t) >= 1)
    harness.stop()  # the half line must survive a restart too
    harness.start()
    append(log, " and the rest\n")
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert harness.texts() == ["complete", "half and the rest"]


def test_poll_mode_reads_without_inotify(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)], poll="100ms")
    harness.start()
    assert not [t for t in threading.enumerate() if t.name == f"watch-{SOURCE}"]
    append(log, "seen by polling\n")
    assert harness.wait_for(lambda t: t == ["seen by polling"])


MULTILINE = {"start": r"^\d{4}-\d\d-\d\d ", "timeout": "300ms"}


def test_multiline_groups_continuation_lines(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)], multiline=MULTILINE)
    harness.start()
    append(
        log,
        '2026-11-27 ERROR boom\nTraceback (most recent call last):\n  File "x.py"\n'
        "2026-11-27 INFO next\n",
    )
    assert harness.wait_for(lambda t: len(t) >= 1)
    assert harness.texts()[0] == (
        '2026-11-27 ERROR boom\nTraceback (most recent call last):\n  File "x.py"'
    )
    # The last group has no successor: the timeout flushes it.
    assert harness.wait_for(lambda t: len(t) >= 2)
    assert harness.texts() == [harness.texts()[0], "2026-11-27 INFO next"]


def test_multiline_open_group_survives_a_restart(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)], multiline={"start": "^START", "timeout": "1h"})
    harness.start()
    append(log, "START one\n  detail 1\n")
    harness.stop()  # the group is open: its first lines must not be lost
    harness.start()
    append(log, "  detail 2\nSTART two\n")
    assert harness.wait_for(lambda t: len(t) >= 1)
    assert harness.texts() == ["START one\n  detail 1\n  detail 2"]
    stored = json.loads(harness.store.position(SOURCE, str(log)) or "{}")
    assert stored["active"]["offset"] == len(b"START one\n  detail 1\n  detail 2\n")


def test_backlog_is_read_in_chunks_with_exact_positions(tmp_path: Path, make) -> None:
    """60k lines (~3 MB): several batches, each ending on a complete line, none lost."""
    log = tmp_path / "app.log"
    lines = [f"backlog line {n:06d} " + "x" * 30 for n in range(60000)]
    log.write_text("\n".join(lines) + "\n")
    harness = make(paths=[str(log)], start_at="beginning")
    harness.start()
    assert harness.wait_for(lambda t: len(t) >= len(lines), timeout=30)
    assert harness.texts() == lines
    with_events = [b for b in harness.batches if b.size]
    assert len(with_events) >= 3
    size = log.stat().st_size
    for batch in with_events:
        offset = json.loads(batch.positions[0].value)["active"]["offset"]
        last = batch.every_event()[-1]
        assert offset == last.fields["offset"] + len(last.text) + 1  # just past its newline
        assert offset <= size
    assert tailer.CHUNK >= 1024 * 1024


def test_reread_line_keeps_its_id_and_adds_no_outbox_row(tmp_path: Path, make) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)])
    harness.start()
    append(log, "alpha\nbeta\n")
    assert harness.wait_for(lambda t: len(t) >= 2)
    harness.stop()
    first_ids = [event.id for event in harness.events]
    token = json.loads(harness.store.position(SOURCE, str(log)) or "{}")["active"]["token"]
    assert first_ids == [stable_id(SOURCE, token, 0), stable_id(SOURCE, token, 6)]
    # Put the stored offset back to 0 (as if the position had not advanced): re-read both.
    value = json.loads(harness.store.position(SOURCE, str(log)) or "{}")
    value["active"]["offset"] = 0
    harness.store.commit([], [Position(SOURCE, str(log), json.dumps(value))])
    harness.start()
    assert harness.wait_for(lambda t: len(t) >= 4)
    assert [event.id for event in harness.events[2:]] == first_ids
    assert harness.outbox_texts() == ["alpha", "beta"]
    assert not duplicates(harness.outbox_texts())


def test_reading_pauses_while_the_engine_is_behind(tmp_path: Path) -> None:
    """A backlog never runs more than a few chunks ahead of the commits: memory stays bounded
    whatever the engine queue holds (its events are objects many times their bytes)."""
    log = tmp_path / "app.log"
    log.write_bytes((b"z" * 99 + b"\n") * 100_000)  # 10 MB: ten 1 MiB chunks
    store = Store(tmp_path / "state")
    queued: list[Batch] = []
    source = LogfileSource(
        LogfileSettings(type="logfile", paths=[str(log)], start_at="beginning"),
        SourceContext(SOURCE, store.positions_of(SOURCE), Path),
    )
    try:
        source.start(queued.append)  # an engine that never gets round to committing

        def reading() -> list[Batch]:
            return [batch for batch in queued if batch.size]

        deadline = time.monotonic() + 5
        while len(reading()) < IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # time to read more, were it not paused
        assert len(reading()) == IN_FLIGHT  # the position batch at start is the +1
        for batch in list(queued):  # the engine catches up
            assert batch.on_committed is not None
            batch.on_committed(False)
        deadline = time.monotonic() + 5
        while len(reading()) <= IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(reading()) > IN_FLIGHT
    finally:
        source.stop()
        store.close()


def test_falls_back_to_polling_when_the_os_refuses_to_watch(
    tmp_path: Path, make, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """inotify limits cannot be exhausted here without hurting other processes, so the
    refusal is simulated: the watch (watchdog, or raw inotify on Linux) reports it could not
    start."""
    monkeypatch.setattr(DirectoryWatch, "start", lambda _self: False)
    monkeypatch.setattr(InotifyWatch, "start", lambda _self: False)
    monkeypatch.setattr(logfile, "FALLBACK_POLL", 0.1)
    log = tmp_path / "app.log"
    log.write_text("")
    harness = make(paths=[str(log)])
    with caplog.at_level(logging.WARNING, logger="ruleengine.sources.logfile"):
        harness.start()
    assert any("polling every" in r.getMessage() for r in caplog.records)
    append(log, "still read\n")
    assert harness.wait_for(lambda t: t == ["still read"])
