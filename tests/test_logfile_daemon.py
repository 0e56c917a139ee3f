"""A real ``python -m ruleengine run`` killed with SIGKILL mid-stream and restarted, with a
rename rotation while it is dead and one while it runs: every line written reaches the outbox
exactly once (counted in the state database the daemon commits to)."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

import pytest

from tests.support.daemon import sigkill, spawn
from tests.support.logfile_harness import ROTATIONS, Writer, duplicates, file_lines
from tests.support.outbox import outbox_texts
from tests.support.poll import eventually

RULES = """\
state_dir: state
destinations:
  sink: { type: console, stream: stdout }
sources:
  app: { type: logfile, paths: [logs/app.log], start_at: beginning }
rules:
  - name: every-line
    source: app
    match: '^line (?P<n>\\d+) '
    message: "{{ line }}"
    to: [sink]
"""


def wait_rows(state: Path, more_than: int) -> int:
    """Until the daemon committed more than ``more_than`` outbox rows; returns how many."""

    def count() -> int:
        rows = len(outbox_texts(state, missing_ok=True))
        return rows if rows > more_than else 0

    return eventually(count, timeout=30.0, what=f"more than {more_than} rows", interval=0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)  # three kills and restarts; a loaded 2-core machine needs room
@pytest.mark.parametrize("style", sorted(ROTATIONS))
def test_sigkill_and_restart_lose_and_repeat_nothing(
    tmp_path: Path, write_rules, style: str
) -> None:
    """Killed three times while lines flow; rotated once while running, once while dead.
    rename: every line exactly once. copytruncate: every line that reached a file exactly
    once. delete: lines written to a file deleted while the daemon was dead exist nowhere;
    every other line exactly once."""
    rotate = ROTATIONS[style]
    rules = write_rules(RULES)
    state = tmp_path / "state"
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    writer = Writer(log, per_second=2000)
    writer.start()
    daemon = spawn(rules)
    while_dead: set[int] = set()
    try:
        rows = 0
        for round_ in range(3):
            rows = wait_rows(state, rows + 200)  # killed while lines are flowing
            sigkill(daemon)
            # What the killed daemon committed after that count: the waits below must be
            # met by the restarted daemon, which then has the current file open.
            rows = len(outbox_texts(state))
            if round_ == 1:
                while_dead.add(writer.generation)
                rotate(log, 1, writer)
            daemon = spawn(rules)
            if round_ == 0:
                rows = wait_rows(state, rows + 200)
                before = writer.generation
                rotate(log, 2, writer)
                # A file deleted while running lives on only through the daemon's handle:
                # let it drain before the next kill (after one, its rest exists nowhere).
                # Its last line is known once the writer has moved on to the new file.
                if style != "copytruncate":
                    eventually(lambda b=before: writer.generation > b, what="the writer's reopen")
                drained = sum(1 for g in list(writer.generation_of) if g < writer.generation)
                rows = wait_rows(state, max(rows, drained) + 200)
        time.sleep(0.3)
    except BaseException:
        sigkill(daemon)  # a failed wait must not leave a daemon running after the test
        raise
    finally:
        writer.stop()
    written = writer.lines()
    if style == "copytruncate":
        must = set(file_lines(log)) | set(file_lines(Path(f"{log}.1")))
        must |= set(file_lines(Path(f"{log}.2")))
    else:
        must = {
            line
            for line, generation in zip(written, writer.generation_of, strict=True)
            if style == "rename" or generation not in while_dead
        }
    try:
        with contextlib.suppress(AssertionError):  # the asserts below say what is missing
            eventually(lambda: must <= set(outbox_texts(state)), timeout=30, interval=0.1)
        time.sleep(0.3)  # room for a duplicate to show up
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    finally:
        if daemon.poll() is None:
            sigkill(daemon)
    errors = (tmp_path / "daemon.log").read_text(encoding="utf-8", errors="replace")
    texts = outbox_texts(state)
    assert not duplicates(texts)
    assert must <= set(texts) <= set(written), errors[-2000:]
    if style == "rename":
        assert len(texts) == len(written)
