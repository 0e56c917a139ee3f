"""End to end: a silence added from the CLI while the daemon runs holds notifications back,
survives ``kill -9`` (silence and counts), and its end brings one summary."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, append, run_cli
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

RULES = """\
state_dir: state
defaults: {{to: [hook]}}
destinations:
  hook: {{type: webhook, url: "{url}/hook"}}
sources:
  app: {{type: logfile, paths: [app.log]}}
rules:
  - name: install-failed
    source: app
    match: 'Package (?P<package>\\S+) install FAILED'
    message: "{{{{ package }}}} failed"
  - name: rebooted
    source: app
    match: '(?P<host>\\S+) rebooted'
    message: "{{{{ host }}}} rebooted"
"""


def silenced(state: Path) -> int:
    conn = sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT COALESCE(SUM(count), 0) FROM silence_suppressed").fetchone()
        return int(row[0])
    finally:
        conn.close()


def test_silence_survives_kill_9_and_ends_with_one_summary(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=receiver.url), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("")
    with DaemonProcess(rules) as daemon:
        added = run_cli(
            "silence", "add", "-c", str(rules), "--rule", "install-failed", "--for", "8s",
            "--reason", "patch night",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        append(log, "Package 7zip install FAILED\nweb1 rebooted\n")
        assert [r.json()["text"] for r in receiver.wait_for(1)] == ["web1 rebooted"]
        eventually(lambda: silenced(tmp_path / "state") == 1, what="the silenced count")
        eventually(  # delivered and marked so: the restart must not send it again
            lambda: outbox_rows(tmp_path / "state", state_is="delivered"), what="the delivery"
        )
        daemon.kill()
    with DaemonProcess(rules):
        append(log, "Package curl install FAILED\n")
        eventually(lambda: silenced(tmp_path / "state") == 2, what="the second silenced one")
        requests = receiver.wait_for(2, timeout=30)
        assert (
            requests[1]
            .json()["text"]
            .startswith("2 notifications were silenced during 'patch night'")
        )
    assert len(receiver.requests) == 2
    listed = run_cli("silence", "list", "-c", str(rules), "--all")
    assert "2 silenced  patch night" in listed.stdout
