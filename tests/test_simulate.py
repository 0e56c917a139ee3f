"""``test --file --simulate``: time-aware rules replayed on the lines' own timestamps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.state import Store, silences
from ruleengine.timestamps import line_time

RULES = """\
state_dir: state
defaults: {to: [out]}
destinations: {out: {type: console}}
sources: {auth: {type: logfile, paths: [auth.log]}}
rules:
  - name: brute-force
    source: auth
    match: 'Failed password for \\S+ from (?P<ip>\\S+)'
    count: {min: 3, within: 10m, by: "{{ ip }}"}
    message: "{{ count }} failed logins from {{ ip }}"
  - name: backup
    source: auth
    match: 'CRON\\[\\d+\\]: (?P<host>\\S+) backup ok'
    expect: {every: 1h, by: "{{ host }}"}
    message: "{{ host }} backup overdue"
  - name: disk
    source: auth
    match: 'disk (?P<disk>\\S+) full'
    message: "{{ disk }} full"
    digest: {wait: 5m, message: "{{ count }} disks full"}
"""
LOG = """\
2026-12-02T10:00:00Z sshd[1]: Failed password for root from 10.0.0.9 port 1
2026-12-02T10:00:05Z CRON[2]: web1 backup ok
2026-12-02T10:01:00Z sshd[1]: Failed password for root from 10.0.0.9 port 2
2026-12-02T10:20:00Z sshd[1]: Failed password for root from 10.0.0.9 port 3
2026-12-02T10:21:00Z sshd[1]: Failed password for root from 10.0.0.9 port 4
2026-12-02T10:22:00Z sshd[1]: Failed password for root from 10.0.0.9 port 5
2026-12-02T10:30:00Z kernel: disk sda full
no timestamp here: disk sdb full
2026-12-02T12:00:00Z CRON[2]: web1 backup ok
"""


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def test_line_time_iso_and_syslog() -> None:
    now = utc("2026-12-02T12:00:00")
    assert line_time("2026-12-02T10:00:00Z x", now) == utc("2026-12-02T10:00:00")
    assert line_time("2026-12-02 10:00:00.5+01:00 x", now) == utc("2026-12-02T09:00:00.5")
    syslog = line_time("Dec  1 23:59:58 web1 sshd[1]: x", now)
    assert syslog is not None
    assert dt.datetime.fromtimestamp(syslog).strftime("%m-%d %H:%M:%S") == "12-01 23:59:58"
    late = line_time("Dec 31 10:00:00 web1 x", now)  # would be in the future: last year
    assert late is not None and dt.datetime.fromtimestamp(late).year == 2025
    assert line_time("no time at all", now) is None
    assert line_time("Foo  1 10:00:00 x", now) is None


def test_simulate_reports_what_fires_and_when(
    write_rules: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_rules(RULES)
    log = config.parent / "auth.log"
    log.write_text(LOG, encoding="utf-8")
    assert main(["test", "-c", str(config), "--file", str(log), "--simulate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["sources"]["auth"]
    assert [(item["time"], item["text"]) for item in result["simulated"]] == [
        (utc("2026-12-02T10:22:00"), "3 failed logins from 10.0.0.9"),
        (utc("2026-12-02T10:35:00"), "2 disks full"),
        (utc("2026-12-02T11:00:05"), "web1 backup overdue"),
        (utc("2026-12-02T12:00:00"), "web1 is back after 59m 55s missing"),
    ]
    assert result["rules"] == {"brute-force": 5, "backup": 2, "disk": 2}
    assert main(["test", "-c", str(config), "--file", str(log), "--simulate"]) == 0
    shown = capsys.readouterr().out
    assert "brute-force → out: 3 failed logins from 10.0.0.9" in shown
    assert "(1 line without a timestamp took the previous line's time)" in shown


def test_line_preview_explains_time_aware_rules(
    write_rules: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_rules(RULES))
    assert main(["test", "-c", config, "--line", "sshd: Failed password for x from 1.2.3.4"]) == 0
    shown = capsys.readouterr().out
    assert "count: sent only when 3 such events share a key within 600s" in shown
    assert "→ out: 3 failed logins from 1.2.3.4" in shown
    assert main(["test", "-c", config, "--line", "CRON[1]: web1 backup ok"]) == 0
    shown = capsys.readouterr().out
    assert "expect: a heartbeat, sends nothing itself" in shown
    assert "→ out: web1 backup overdue" in shown


def test_simulate_applies_stored_silences_at_the_lines_times(
    write_rules: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_rules(RULES)
    log = config.parent / "auth.log"
    log.write_text(LOG, encoding="utf-8")
    store = Store(config.parent / "state")  # as `silence add` would have written it
    with store.transaction() as conn:
        silences.add(
            conn, "brute-force", [], utc("2026-12-02T10:00:00"), utc("2026-12-02T10:25:00"),
            "pen test", utc("2026-12-02T09:00:00"),
        )  # fmt: skip
    store.close()
    assert main(["test", "-c", str(config), "--file", str(log), "--simulate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["sources"]["auth"]
    assert [(item["time"], item["text"][:40]) for item in result["simulated"]][:2] == [
        (utc("2026-12-02T10:25:00"), "1 notification was silenced during 'pen "),
        (utc("2026-12-02T10:35:00"), "2 disks full"),
    ]


DESTINATION_SCHEDULES = """\
state_dir: state
defaults: {to: [out, pager, night]}
schedules:
  office: {days: daily, hours: "08:00-18:00", tz: UTC}
destinations:
  out: {type: console}
  pager: {type: console, schedule: {only: office, otherwise: hold}}
  night: {type: console, schedule: {only: office, otherwise: drop}}
sources: {auth: {type: logfile, paths: [auth.log]}}
rules:
  - name: disk
    source: auth
    match: 'disk (?P<disk>\\S+) full'
    message: "{{ disk }} full"
"""
NIGHT_LOG = """\
2026-12-02T07:00:00Z kernel: disk sda full
2026-12-02T07:30:00Z kernel: disk sdb full
2026-12-02T09:00:00Z kernel: disk sdc full
"""


def test_simulate_honours_destination_schedules(
    write_rules: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside office hours `pager` holds (one message when the office opens) and `night`
    drops; inside them both receive, as the daemon would decide."""
    config = write_rules(DESTINATION_SCHEDULES)
    log = config.parent / "auth.log"
    log.write_text(NIGHT_LOG, encoding="utf-8")
    assert main(["test", "-c", str(config), "--file", str(log), "--simulate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["sources"]["auth"]
    assert [(i["time"], i["destination"], i["text"]) for i in result["simulated"]] == [
        (utc("2026-12-02T07:00:00"), "out", "sda full"),
        (utc("2026-12-02T07:30:00"), "out", "sdb full"),
        (
            utc("2026-12-02T08:00:00"),
            "pager",
            "2 notifications held outside the schedule:\n- sda full\n- sdb full",
        ),
        (utc("2026-12-02T09:00:00"), "out", "sdc full"),
        (utc("2026-12-02T09:00:00"), "pager", "sdc full"),
        (utc("2026-12-02T09:00:00"), "night", "sdc full"),
    ]
    assert main(["test", "-c", str(config), "--file", str(log), "--simulate"]) == 0
    assert "(2 notifications dropped outside a schedule)" in capsys.readouterr().out
