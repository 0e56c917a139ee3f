"""A real ``python -m ruleengine run`` reading a real journal directory, killed with SIGKILL
three times while the journal grows: every entry reaches the outbox, at most one duplicate per
kill (counted in the state database the daemon commits to)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support.daemon import sigkill, spawn
from tests.support.journalkit import entry, needs_journal, write
from tests.support.outbox import outbox_texts
from tests.support.poll import eventually

RULES = """\
state_dir: state
destinations:
  sink: { type: console, stream: stdout }
sources:
  sys: { type: journal, directory: journal, start_at: beginning, units: [app.service] }
rules:
  - name: every-entry
    source: sys
    match: '^entry (?P<n>\\d+)$'
    message: "{{ message }} {{ unit }}"
    to: [sink]
"""


def outbox(state: Path) -> list[str]:
    return outbox_texts(state, missing_ok=True)


def wait_rows(state: Path, more_than: int, writer: JournalWriter) -> int:
    """Until the daemon committed more than ``more_than`` rows (a loaded machine is slow)."""

    def count() -> int:
        assert writer.error is None, f"the journal writer failed: {writer.error!r}"
        rows = len(outbox(state))
        return rows if rows > more_than else 0

    return eventually(count, timeout=90.0, what=f"more than {more_than} rows", interval=0.05)


class JournalWriter(threading.Thread):
    """Appends numbered entries (and some from another unit) to a journal file, in bursts."""

    def __init__(self, journal: Path) -> None:
        super().__init__(name="test-journal-writer", daemon=True)
        self.journal = journal
        self.written = 0
        self.error: BaseException | None = None  # why writing stopped early, if it did
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                burst = [
                    entry(f"entry {self.written + i}", _SYSTEMD_UNIT="app.service")
                    for i in range(50)
                ]
                burst.append(entry("noise", _SYSTEMD_UNIT="other.service"))
                write(self.journal, burst)
                self.written += 50
                self._halt.wait(0.02)
        except BaseException as exc:  # the test says so instead of waiting for rows
            self.error = exc
            raise

    def stop(self) -> None:
        self._halt.set()
        self.join(30.0)

    def texts(self) -> set[str]:
        return {f"entry {n} app.service" for n in range(self.written)}


@needs_journal
@pytest.mark.slow
@pytest.mark.timeout(400)  # four daemon starts and a journal written by a subprocess per burst
def test_sigkill_while_the_journal_grows_loses_nothing(tmp_path: Path, write_rules) -> None:
    rules = write_rules(RULES)
    state = tmp_path / "state"
    writer = JournalWriter(tmp_path / "journal" / "app.journal")
    writer.start()
    kills = 3
    daemon = spawn(rules)
    try:
        rows = 0
        for _ in range(kills):
            rows = wait_rows(state, rows + 50, writer)  # killed while entries are flowing
            sigkill(daemon)
            rows = len(outbox(state))  # the next wait is the restarted daemon's
            daemon = spawn(rules)
        rows = wait_rows(state, rows + 50, writer)
    finally:
        writer.stop()
    try:
        expected = writer.texts()
        deadline = time.monotonic() + 120
        while not expected <= set(outbox(state)):
            if time.monotonic() > deadline:
                missing = sorted(expected - set(outbox(state)), key=lambda t: int(t.split()[1]))
                log = (tmp_path / "daemon.log").read_text(encoding="utf-8", errors="replace")
                raise AssertionError(f"{len(missing)} missing, {missing[:5]}…\n{log[-3000:]}")
            time.sleep(0.1)
        daemon.terminate()
        assert daemon.wait(20) == 0
    finally:
        if daemon.poll() is None:
            sigkill(daemon)
    errors = (tmp_path / "daemon.log").read_text(encoding="utf-8", errors="replace")
    texts = outbox(state)
    assert set(texts) == expected, errors[-2000:]
    assert len(texts) - len(expected) <= kills
