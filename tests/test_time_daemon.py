"""End to end with a real daemon: silences and absence deadlines survive ``kill -9``.

A silence added from the CLI while the daemon runs holds notifications back, keeps its count
across the kill, and its end brings one summary. A heartbeat's deadline passing while the
daemon is dead brings one alert at restart that says so, and the next heartbeat a back notice.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.daemon import DaemonProcess, append, run_cli
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver
from tests.support.rulekit import HOOK_AND_APP, INSTALL_FAILED, THRESHOLD_RULES

pytestmark = pytest.mark.slow

RULES = (
    HOOK_AND_APP
    + "rules:\n"
    + INSTALL_FAILED
    + """\
  - name: rebooted
    source: app
    match: '(?P<host>\\S+) rebooted'
    message: "{{{{ host }}}} rebooted"
  - name: patched
    source: app
    match: '(?P<host>\\S+) patch run OK'
    expect: {{every: 3s, by: "{{{{ host }}}}"}}
    message: "{{{{ host }}}} did not report"
"""
)


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


def watched(state: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT key, seen FROM rule_expect").fetchall()
    finally:
        conn.close()


def test_absence_deadline_passes_while_killed(tmp_path: Path, receiver: Receiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=receiver.url), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("")
    state = tmp_path / "state"
    with DaemonProcess(rules) as daemon:
        append(log, "web1 patch run OK\n")
        eventually(lambda: watched(state) == [("web1", 1)], what="the heartbeat saved")
        daemon.kill()
    deadline = time.monotonic() + 3.5
    eventually(lambda: time.monotonic() > deadline, timeout=10, what="the deadline to pass")
    with DaemonProcess(rules):
        (alert,) = receiver.wait_for(1, timeout=20)
        assert alert.json()["text"].startswith("web1 did not report (late: ruleengine was not")
        append(log, "web1 patch run OK\n")
        texts = [r.json()["text"] for r in receiver.wait_for(2, timeout=20)]
        assert texts[1].startswith("web1 is back after")


def test_threshold_and_open_alert_survive_kill_9(tmp_path: Path, receiver: Receiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(THRESHOLD_RULES.format(url=receiver.url), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("")
    state = tmp_path / "state"
    with DaemonProcess(rules) as daemon:
        append(log, "login failed from 10.0.0.9\n" * 2 + "Package 7zip install FAILED\n")
        assert [r.json()["text"] for r in receiver.wait_for(1)] == ["7zip failed"]
        eventually(lambda: outbox_rows(state, state_is="delivered"), what="the delivery")
        daemon.kill()
    with DaemonProcess(rules):
        append(log, "login failed from 10.0.0.9\nPackage 7zip installed\n")
        texts = [r.json()["text"] for r in receiver.wait_for(3, timeout=20)]
        assert texts[1:] == ["3 failed logins from 10.0.0.9", "7zip resolved"]


SCHEDULE_RULES = (
    HOOK_AND_APP
    + """\
schedules:
  always: {{tz: Europe/Berlin}}
  later: {{days: {later}, tz: Europe/Berlin}}
rules:
  - name: quiet
    source: app
    match: 'disk (?P<disk>\\S+) full'
    message: "{{{{ disk }}}} full"
    notify: true
    schedule: {{mute: always, otherwise: quiet}}
  - name: held
    source: app
    match: '(?P<host>\\S+) rebooted'
    message: "{{{{ host }}}} rebooted"
    schedule: {{only: later, otherwise: hold}}
"""
)


def held_rows(state: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT rule, json_extract(event, '$.host') FROM rule_digest"
        ).fetchall()
    finally:
        conn.close()


def test_schedule_quiet_delivers_and_held_survives_kill_9(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = tmp_path / "rules.yaml"
    berlin = dt.datetime.now(ZoneInfo("Europe/Berlin"))
    later = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(berlin.weekday() + 3) % 7]
    text = SCHEDULE_RULES.format(url=receiver.url, later=later)
    rules.write_text(text, encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("")
    state = tmp_path / "state"
    with DaemonProcess(rules) as daemon:
        append(log, "web1 rebooted\ndisk sda full\n")
        (request,) = receiver.wait_for(1)
        assert (request.json()["text"], request.json()["notify"]) == ("sda full", False)
        eventually(lambda: held_rows(state) == [("held", "web1")], what="the held reboot")
        eventually(lambda: outbox_rows(state, state_is="delivered"), what="the delivery")
        daemon.kill()
    with DaemonProcess(rules):  # the window opens in three days: held across the kill
        append(log, "web2 rebooted\n")
        eventually(lambda: len(held_rows(state)) == 2, what="the second held reboot")
    assert len(receiver.requests) == 1
