"""``check`` validates journal sources; ``test --journal`` replays real journal files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.daemon import run_cli
from tests.support.journalkit import entry, needs_journal, write

RULES = """\
state_dir: state
destinations:
  sink: {{ type: console }}
sources:
  sys: {{ type: journal, directory: journal, units: [ssh.service]{extra} }}
rules:
  - name: ssh-failed
    source: sys
    match: 'Failed password for (?P<user>\\S+)'
    message: "{{{{ user }}}} on {{{{ hostname }}}} ({{{{ priority_name }}}}, {{{{ unit }}}})"
    to: [sink]
"""


def test_check_accepts_a_journal_source_and_names_bad_settings(write_rules) -> None:
    good = write_rules(RULES.format(extra=", priority: warning"))
    assert run_cli("check", "-c", str(good)).returncode == 0
    bad = write_rules(RULES.format(extra=", priority: loud, matches: {lower: x}"), "bad.yaml")
    result = run_cli("check", "-c", str(bad))
    assert result.returncode == 2
    assert "bad.yaml:5: sources.sys.priority" in result.stderr
    assert "sources.sys.matches" in result.stderr
    assert "Traceback" not in result.stderr
    marker_rule = write_rules(
        RULES.format(extra="").replace("    match: 'Failed", "    file: '*.json'\n    #"),
        "file.yaml",
    )
    result = run_cli("check", "-c", str(marker_rule))
    assert result.returncode == 2 and "is a journal source" in result.stderr


@needs_journal
def test_replay_a_journal_directory_through_the_source_filters(write_rules, tmp_path: Path) -> None:
    rules = write_rules(RULES.format(extra=""))
    write(
        tmp_path / "journal" / "a.journal",
        [
            entry("Failed password for root", _SYSTEMD_UNIT="ssh.service", _HOSTNAME="web1"),
            entry("Failed password for bob", _SYSTEMD_UNIT="other.service"),  # filtered out
            entry("Accepted password for amy", _SYSTEMD_UNIT="ssh.service"),
            entry("Failed password for eve", _SYSTEMD_UNIT="ssh.service", PRIORITY="3"),
        ],
    )
    shown = run_cli("test", "-c", str(rules), "--journal", str(tmp_path / "journal"))
    assert shown.returncode == 0, shown.stderr
    assert "entry 1: ssh-failed: root on web1 (info, ssh.service)" in shown.stdout
    assert "entry 3: ssh-failed: eve on  (err, ssh.service)" in shown.stdout
    assert "source sys: 3 entries" in shown.stdout
    counted = run_cli(
        "test", "-c", str(rules), "--journal", str(tmp_path / "journal" / "a.journal"), "--json"
    )
    summary = json.loads(counted.stdout)["sources"]["sys"]
    assert (summary["entries"], summary["rules"]["ssh-failed"]) == (3, 2)
    limited = run_cli(
        "test", "-c", str(rules), "--journal", str(tmp_path / "journal"), "--limit", "1"
    )
    assert "source sys: 1 entries" in limited.stdout


def test_replay_of_a_missing_journal_says_so(write_rules, tmp_path: Path) -> None:
    rules = write_rules(RULES.format(extra=""))
    result = run_cli("test", "-c", str(rules), "--journal", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such journal directory or file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_sample_line_reaches_journal_sources_with_journal_variables(write_rules) -> None:
    rules = write_rules(RULES.format(extra=""))
    result = run_cli("test", "-c", str(rules), "--line", "Failed password for root from x")
    assert result.returncode == 0, result.stderr
    assert "rule 'ssh-failed' fires" in result.stdout
    assert "root on " in result.stdout and "(info, )" in result.stdout
