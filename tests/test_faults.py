"""Database contention against a real daemon subprocess (issue 9): another process holding the
SQLite write lock, or a long read transaction, while the daemon works and ``dead list`` (and
``status`` once it exists) read the same database. The daemon keeps going and loses nothing.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from ruleengine.commands import COMMANDS
from tests.support.daemon import DaemonProcess, run_cli
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(120)]

LOCK_HELD = 4.0  # seconds another process holds the write lock (below the 30 s busy timeout)

RULES = """\
state_dir: state
destinations:
  hook: {{type: webhook, url: "{url}/hook", timeout: 5}}
sources:
  app: {{type: logfile, paths: [app.log], start_at: beginning}}
rules:
  - name: line
    source: app
    match: 'busy seq=(?P<seq>\\d+)'
    to: hook
    message: "line {{{{ seq }}}}"
"""


def append(log: Path, first: int, count: int) -> None:
    with log.open("a", encoding="utf-8") as handle:
        for seq in range(first, first + count):
            handle.write(f"app: busy seq={seq}\n")


def readers(rules: Path) -> list[list[str]]:
    """The commands an operator runs beside the daemon (``status`` arrives with issue 7)."""
    commands = [["dead", "list", "-c", str(rules)], ["dead", "list", "--json", "-c", str(rules)]]
    if "status" in COMMANDS:
        commands.append(["status", "-c", str(rules)])
    return commands


def read_beside(rules: Path) -> None:
    for argv in readers(rules):
        result = run_cli(*argv)
        assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr


def test_locked_and_read_database_the_daemon_keeps_going(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    rules = tmp_path / "rules.yaml"
    with Receiver() as receiver:
        rules.write_text(RULES.format(url=receiver.url), encoding="utf-8")
        with DaemonProcess(rules) as daemon:
            append(log, 0, 10)
            receiver.wait_for(10)

            # Another process takes the write lock: commits and delivery records must wait.
            other = sqlite3.connect(tmp_path / "state" / "state.db", isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                append(log, 10, 20)
                read_beside(rules)  # readers are not blocked by a writer (WAL)
                time.sleep(max(0.0, LOCK_HELD))
            finally:
                other.execute("ROLLBACK")
            receiver.wait_for(30, timeout=30)

            # A reader keeps a transaction open (a slow `status`): writers are not blocked.
            reader = sqlite3.connect(tmp_path / "state" / "state.db", isolation_level=None)
            try:
                reader.execute("BEGIN")
                reader.execute("SELECT COUNT(*) FROM outbox").fetchone()
                append(log, 30, 30)
                receiver.wait_for(60, timeout=30)
                read_beside(rules)
            finally:
                reader.execute("ROLLBACK")
                reader.close()
            other.close()
            time.sleep(0.5)  # a duplicate would arrive now
            assert daemon.proc is not None and daemon.proc.poll() is None
            assert daemon.stop() == 0
        got = [int(r.json()["fields"]["seq"]) for r in receiver.requests]
    assert got == list(range(60)), "lost, duplicated or out of order"
    assert "Traceback" not in daemon.output
