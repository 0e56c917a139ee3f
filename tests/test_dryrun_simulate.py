"""``test --file`` applies throttle and digest as the daemon does, by each line's own time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.cli import main

RULES = """\
state_dir: state
destinations: {{out: {{type: console}}}}
sources:
  log:
    type: logfile
    paths: [x.log]
{timestamp}rules:
  - name: bad-login
    source: log
    match: 'login failed for (?P<user>\\w+)'
    message: "{{{{ user }}}} failed"
    throttle: {{key: "{{{{ user }}}}", window: 10m}}
    to: out
  - name: disk
    source: log
    match: 'disk full'
    message: "disk"
    digest: {{wait: 1m}}
    to: out
"""
STAMPED = "    timestamp: {match: '^(\\S+)', format: '%Y-%m-%dT%H:%M:%S'}\n"
LOG = """\
2026-12-01T00:00:00 login failed for bob
2026-12-01T00:00:00 disk full
2026-12-01T00:00:30 disk full
2026-12-01T00:01:00 login failed for bob
2026-12-01T00:02:00 login failed for bob
2026-12-01T00:02:00 login failed for eve
2026-12-01T00:05:00 disk full
2026-12-01T00:11:00 login failed for bob
2026-12-01T00:12:00 login failed for bob
"""


def replay(tmp_path: Path, capsys: pytest.CaptureFixture[str], timestamp: str) -> dict[str, dict]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(timestamp=timestamp), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text(LOG, encoding="utf-8")
    assert main(["test", "-c", str(rules), "--file", str(log), "--json"]) == 0
    summary: dict[str, dict] = json.loads(capsys.readouterr().out)["sources"]["log"]
    return summary


def test_windows_follow_the_lines_own_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = replay(tmp_path, capsys, STAMPED)
    assert result["rules"] == {"bad-login": 6, "disk": 3}
    # bob at 0:00 and 0:11 (the 10m window ended), eve at 0:02; the rest held back.
    assert result["would_send"] == {"bad-login": 3, "disk": 2}
    assert result["suppressed"] == {"bad-login": 3, "disk": 0}
    # 0:00 and 0:30 make one digest (due 1:00, sent when 5:00 arrives); 5:00 another.
    assert result["digested"] == {"bad-login": 0, "disk": 3}
    assert result["notifications"] == 5


def test_without_timestamps_lines_arrive_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = replay(tmp_path, capsys, "")
    assert result["would_send"] == {"bad-login": 2, "disk": 1}  # one window per user
    assert result["suppressed"]["bad-login"] == 4
    assert result["notifications"] == 3


def test_text_report_says_what_was_held(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replay(tmp_path, capsys, STAMPED)
    main(["test", "-c", str(tmp_path / "rules.yaml"), "--file", str(tmp_path / "app.log")])
    out = capsys.readouterr().out
    assert "6  bad-login (would send 3, 3 suppressed)" in out
    assert "3  disk (would send 2, 3 digested)" in out
    assert "line 1: bad-login: bob failed" in out
    assert "line 12: bad-login" not in out
