"""The journal source on real journal files (written by systemd-journal-remote, read by
journalctl), committed through the engine's own ``process`` like the daemon does."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruleengine.config.schema import Defaults, Rule
from ruleengine.config.sources import JournalSource as JournalSettings
from ruleengine.engine import Engine
from ruleengine.model import Batch, Event
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.base import SourceContext
from ruleengine.sources.journal.source import JournalSource
from ruleengine.state import Store
from tests.support.journalkit import entry, needs_journal, write

pytestmark = needs_journal
SOURCE = "j"
END = "the end"  # written last: once it is read, everything before it was


class Harness:
    def __init__(self, state_dir: Path) -> None:
        self.store = Store(state_dir)
        rule = Rule(name="all", source=[SOURCE], message="{{ message }}", to=["sink"])
        self.engine = Engine(compile_rules([rule], Defaults()), self.store, lambda _d: None)
        self.events: list[Event] = []
        self.source: JournalSource | None = None
        self._lock = threading.Lock()

    def emit(self, batch: Batch) -> None:
        self.engine.process(batch)
        with self._lock:
            self.events.extend(batch.events)

    def start(self, **settings: Any) -> None:
        self.events.clear()
        config = JournalSettings(type="journal", **settings)
        self.source = JournalSource(
            config, SourceContext(SOURCE, self.store.positions_of(SOURCE), Path)
        )
        self.source.start(self.emit)

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None

    def texts(self) -> list[str]:
        with self._lock:
            return [event.text for event in self.events]

    def until_end(self, timeout: float = 20.0) -> list[str]:
        """Every text read, once the END entry was read (journalctl reads in order)."""
        deadline = time.monotonic() + timeout
        while END not in self.texts():
            assert time.monotonic() < deadline, f"END never read; got {self.texts()}"
            time.sleep(0.05)
        return [text for text in self.texts() if text != END]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "state")
    yield h
    h.stop()
    h.store.close()


def mixed() -> list[dict[str, str | bytes]]:
    return [
        entry("ssh fail", _SYSTEMD_UNIT="ssh.service", SYSLOG_IDENTIFIER="sshd", PRIORITY="3"),
        entry("ssh info", _SYSTEMD_UNIT="ssh.service", SYSLOG_IDENTIFIER="sshd", PRIORITY="6"),
        entry("cron ran", _SYSTEMD_UNIT="cron.service", SYSLOG_IDENTIFIER="CRON", PRIORITY="6"),
        entry("oom", _TRANSPORT="kernel", SYSLOG_IDENTIFIER="kernel", PRIORITY="2"),
        entry("db down", _SYSTEMD_UNIT="db.service", SYSLOG_IDENTIFIER="db", PRIORITY="4"),
    ]


SSH = {"_SYSTEMD_UNIT": "ssh.service", "SYSLOG_IDENTIFIER": "sshd", "PRIORITY": "0"}


@pytest.mark.parametrize(
    ("settings", "end", "expected"),
    [
        ({}, SSH, ["ssh fail", "ssh info", "cron ran", "oom", "db down"]),
        ({"units": ["ssh.service"]}, SSH, ["ssh fail", "ssh info"]),
        ({"units": ["ssh.service", "db.service"]}, SSH, ["ssh fail", "ssh info", "db down"]),
        ({"identifiers": ["CRON", "kernel"]}, {"SYSLOG_IDENTIFIER": "CRON"}, ["cron ran", "oom"]),
        ({"priority": "warning"}, SSH, ["ssh fail", "oom", "db down"]),
        ({"priority": 3, "units": ["ssh.service"]}, SSH, ["ssh fail"]),
        ({"matches": {"_TRANSPORT": "kernel"}}, {"_TRANSPORT": "kernel"}, ["oom"]),
        (
            {"matches": {"SYSLOG_IDENTIFIER": ["db", "CRON"], "PRIORITY": "6"}},
            {"SYSLOG_IDENTIFIER": "db", "PRIORITY": "6"},
            ["cron ran"],
        ),
    ],
)
def test_filters_are_evaluated_by_journald(
    harness: Harness,
    tmp_path: Path,
    settings: dict[str, Any],
    end: dict[str, str],
    expected: list[str],
) -> None:
    write(tmp_path / "journal" / "a.journal", [*mixed(), entry(END, **end)])
    harness.start(directory=str(tmp_path / "journal"), start_at="beginning", **settings)
    assert harness.until_end() == expected


def test_files_multiline_binary_and_oversized_entries(harness: Harness, tmp_path: Path) -> None:
    journal = tmp_path / "one.journal"
    write(
        journal,
        [
            entry("Traceback:\n  File x\nValueError", _PID="7"),
            entry(b"caf\xc3\xa9 \xff\x00bin"),  # type: ignore[arg-type]
            entry("y" * 5000),
            entry(END),
        ],
    )
    harness.start(files=[str(journal)], start_at="beginning", max_line=1000)
    texts = harness.until_end()
    assert texts[0] == "Traceback:\n  File x\nValueError"
    assert texts[1] == "café \ufffdbin"
    assert texts[2] == "y" * 1000 + " [truncated]"
    assert harness.events[0].fields["pid"] == 7


def test_a_restart_resumes_after_the_committed_cursor(harness: Harness, tmp_path: Path) -> None:
    journal = tmp_path / "journal" / "a.journal"
    write(journal, [entry("one"), entry("two"), entry(END)])
    harness.start(directory=str(journal.parent), start_at="beginning")
    assert harness.until_end() == ["one", "two"]
    harness.stop()
    write(journal, [entry("three"), entry(END)])
    harness.start(directory=str(journal.parent), start_at="beginning")
    assert harness.until_end() == ["three"]


def test_a_restart_reads_every_entry_behind_the_cursor_of_a_quiet_journal(
    harness: Harness, tmp_path: Path
) -> None:
    """``journalctl --follow --cursor`` alone prints ten entries, then waits for a new one
    (systemd#4739): after downtime on a quiet host the rest would wait for the next entry."""
    journal = tmp_path / "journal" / "a.journal"
    write(journal, [entry("one"), entry(END)])
    harness.start(directory=str(journal.parent), start_at="beginning")
    assert harness.until_end() == ["one"]
    harness.stop()
    behind = [f"while stopped {n}" for n in range(40)]
    write(journal, [*(entry(text) for text in behind), entry(END)])  # then nothing more
    harness.start(directory=str(journal.parent), start_at="beginning")
    assert harness.until_end() == behind


def test_start_at_end_reads_only_what_comes_next_even_through_filters(
    harness: Harness, tmp_path: Path
) -> None:
    """The saved start is the newest entry, which the filter rejects: journalctl's
    --after-cursor would then swallow the first matching entry; this source does not."""
    journal = tmp_path / "journal" / "a.journal"
    write(journal, [entry("old", PRIORITY="3"), entry("old info", PRIORITY="6")])
    harness.start(directory=str(journal.parent), priority="err")
    write(journal, [entry("new", PRIORITY="3"), entry(END, PRIORITY="3")])
    assert harness.until_end() == ["new"]
    harness.stop()
    write(journal, [entry("while stopped", PRIORITY="3"), entry(END, PRIORITY="3")])
    harness.start(directory=str(journal.parent), priority="err")
    assert harness.until_end() == ["while stopped"]


def test_start_at_end_on_an_empty_journal_reads_its_first_entries(
    harness: Harness, tmp_path: Path
) -> None:
    (tmp_path / "journal").mkdir()
    harness.start(directory=str(tmp_path / "journal"))
    harness.stop()  # started once on nothing: that start is remembered
    write(tmp_path / "journal" / "a.journal", [entry("first"), entry(END)])
    harness.start(directory=str(tmp_path / "journal"))
    assert harness.until_end() == ["first"]


def test_a_vacuumed_cursor_warns_once_and_continues_from_the_oldest(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "journal"
    write(directory / "old.journal", [entry("a"), entry(END)])
    harness.start(directory=str(directory), start_at="beginning")
    assert harness.until_end() == ["a"]
    harness.stop()
    (directory / "old.journal").unlink()  # what journald's vacuuming does to an archived file
    write(directory / "new.journal", [entry("b1"), entry("b2"), entry(END)])
    with caplog.at_level(logging.WARNING):
        harness.start(directory=str(directory), start_at="beginning")
        assert harness.until_end() == ["b1", "b2"]
    warnings = [r.getMessage() for r in caplog.records if "no longer holds" in r.getMessage()]
    assert len(warnings) == 1
    assert "skipped" in warnings[0]


def test_a_journal_directory_appearing_after_start_is_read_from_its_start(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "later"
    with caplog.at_level(logging.INFO):
        harness.start(directory=str(directory))  # start_at: end, but everything in it is new
        deadline = time.monotonic() + 10
        while "waiting for" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        write(directory / "a.journal", [entry("hello"), entry(END)])
        assert harness.until_end() == ["hello"]


def test_status_shows_how_far_a_journal_source_has_read(
    harness: Harness, tmp_path: Path, write_rules
) -> None:
    from tests.support.daemon import run_cli  # noqa: PLC0415

    directory = tmp_path / "journal"
    rules = write_rules(
        f"state_dir: {tmp_path / 'state'}\n"
        "destinations: { sink: { type: console } }\n"
        f"sources: {{ {SOURCE}: {{ type: journal, directory: {directory} }} }}\n"
        f"rules: [{{ name: r, source: {SOURCE}, match: x, message: x, to: [sink] }}]\n"
    )
    before = run_cli("status", "-c", str(rules))
    assert f"{SOURCE} (journal {directory}): no entry read yet" in before.stdout, before.stderr
    write(directory / "a.journal", [entry("one"), entry(END)])
    harness.start(directory=str(directory), start_at="beginning")
    harness.until_end()
    harness.stop()
    after = run_cli("status", "-c", str(rules))
    assert f"{SOURCE} (journal {directory}): read up to the entry of " in after.stdout
