"""``ruleengine test``: what matched, the fields, the text and the exact payload; sends nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.sources.logfile import tailer
from tests.support.rulekit import rules_yaml

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"

RULES = """
- name: install-failed
  source: log
  match: 'Package (?P<package>\\S+) install FAILED exit=(?P<code>\\d+)'
  when: "code | int != 3010"
  message: "{{ package }} failed (exit {{ code }})"
  color: red
- name: any-package
  source: log
  match: 'Package (?P<package>\\S+)'
  message: "package {{ package }}"
  digest: {wait: 1m}
- name: update-failed
  source: drops
  file: '*.json'
  where: {status: failed}
  message: "{{ stem }}: {{ status }}"
  throttle: {window: 5m}
"""


@pytest.fixture
def config(write_rules: Callable[[str], Path], tmp_path: Path) -> Path:
    return write_rules(rules_yaml(RULES, state=str(tmp_path / "state")))


def test_line_shows_fields_text_and_payload(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = "installer[9]: Package KB123 install FAILED exit=5"
    assert main(["test", "-c", str(config), "--line", line]) == 0
    out = capsys.readouterr().out
    assert (
        """rule 'install-failed' selected the event; fields: {"package": "KB123", "code": "5"}"""
        in out
    )
    assert "→ out: KB123 failed (exit 5)" in out
    assert '"line": ' in out and "RED: KB123 failed (exit 5)" in out  # the console payload
    assert "digest: collected for 60s" in out and "package KB123" in out
    assert not (config.parent / "state").exists()  # nothing written, nothing sent


def test_line_when_false_and_no_match(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["test", "-c", str(config), "--line", "Package KB1 install FAILED exit=3010"])
    out = capsys.readouterr().out
    assert "rule 'install-failed' selected the event" in out
    assert "rule 'install-failed' fires" not in out
    main(["test", "-c", str(config), "--line", "nothing"])
    assert capsys.readouterr().out.strip() == "no rule matched"


def test_marker(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = tmp_path / "web1.json"
    drop.write_text(json.dumps({"status": "failed"}), encoding="utf-8")
    assert main(["test", "-c", str(config), "--marker", str(drop)]) == 0
    out = capsys.readouterr().out
    assert "rule 'update-failed' fires" in out and "throttle: at most one per key per 300s" in out
    assert "→ out: web1: failed" in out


def test_missing_marker_is_exit_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "-c", str(config), "--marker", str(tmp_path / "nope")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_file_replay_counts_per_rule(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "app.log"
    lines = ["noise"] * 10 + ["Package A install FAILED exit=1\r", "Package B install OK"] * 3
    log.write_text("\n".join(lines) + "\nPackage C install FAILED exit=3010", encoding="utf-8")
    assert main(["test", "-c", str(config), "--file", str(log), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["sources"]["log"]
    assert summary["lines"] == 17
    assert summary["rules"] == {"install-failed": 3, "any-package": 7}
    assert main(["test", "-c", str(config), "--file", str(log), "--limit", "12"]) == 0
    out = capsys.readouterr().out
    assert "source log: 12 lines" in out and "lines/s; nothing was sent" in out
    assert "line 11: install-failed: A failed (exit 1)" in out  # CRLF stripped like the tailer


def test_file_replay_small_chunks_same_counts(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Chunk boundaries (here every few characters) never split or lose a line."""
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"Package P{i} install FAILED exit={i}\n" for i in range(50)), encoding="utf-8"
    )
    monkeypatch.setattr(tailer, "CHUNK", 7)
    main(["test", "-c", str(config), "--file", str(log), "--json"])
    summary = json.loads(capsys.readouterr().out)["sources"]["log"]
    assert summary["lines"] == 50 and summary["rules"]["install-failed"] == 50


@pytest.mark.slow
def test_replay_real_log_in_subprocess(write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """OpenSSH log from loghub (https://github.com/logpai/loghub), through the real CLI."""
    log = LOGHUB / "OpenSSH_2k.log"
    if not log.exists():
        pytest.skip("loghub data not present")
    config = write_rules(
        rules_yaml(
            """
            - name: bad-password
              source: log
              match: >-
                sshd\\[\\d+\\]: Failed password for (?:invalid user )?(?P<user>\\S+)
                from (?P<ip>[\\d.]+)
              message: "{{ user }} from {{ ip }}"
            """,
            state=str(tmp_path / "state"),
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruleengine",
            "test",
            "-c",
            str(config),
            "--file",
            str(log),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    counts = json.loads(done.stdout)["sources"]["log"]
    pattern = re.compile(r"sshd\[\d+\]: Failed password for (?:invalid user )?(\S+) from ([\d.]+)")
    expected = sum(
        1 for text in log.read_text(errors="replace").splitlines() if pattern.search(text)
    )
    assert counts["lines"] == 2000 and counts["rules"]["bad-password"] == expected > 0


def test_file_replay_strips_carriage_returns_like_the_tailer(
    write_rules: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_rules(
        rules_yaml(
            "- {name: eol, source: log, match: 'done$', message: m}\n", state=str(tmp_path / "s")
        )
    )
    log = tmp_path / "crlf.log"
    log.write_bytes(b"job done\r\nalso done\r\r\nnot done yet\r\nstill done\n")
    main(["test", "-c", str(config), "--file", str(log), "--json"])
    # One CR of CRLF is line framing; "also done\r" keeps its other CR, in the daemon too.
    assert json.loads(capsys.readouterr().out)["sources"]["log"]["rules"] == {"eol": 2}


def test_no_render_counts_the_same(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"Package P{i} install FAILED exit={i}\n" for i in range(30)), encoding="utf-8"
    )
    main(["test", "-c", str(config), "--file", str(log), "--json"])
    rendered = json.loads(capsys.readouterr().out)["sources"]["log"]
    main(["test", "-c", str(config), "--file", str(log), "--json", "--no-render"])
    counted = json.loads(capsys.readouterr().out)["sources"]["log"]
    assert (counted["rules"], counted["notifications"]) == (
        rendered["rules"],
        rendered["notifications"],
    )


def test_file_replay_gives_the_daemons_line_fields_and_line_numbers(
    write_rules: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A replayed line is the daemon's event: ``path`` and the line's byte ``offset`` (a
    template using them renders as it will in the daemon), and the printed line numbers hold
    after a line that is not ASCII (byte offsets then differ from character positions)."""
    config = write_rules(
        rules_yaml(
            "- {name: hit, source: log, match: 'hit', message: '{{ offset }} {{ line }}'}\n",
            state=str(tmp_path / "s"),
        )
    )
    log = tmp_path / "fields.log"
    log.write_bytes("hit one\nnoise\nnaïve hit\nhit ✓ three\n\nhit four\n".encode())
    assert main(["test", "-c", str(config), "--file", str(log)]) == 0
    out = capsys.readouterr().out
    assert "line 1: hit: 0 hit one" in out
    assert "line 3: hit: 14 naïve hit" in out  # bytes: "hit one\n" 8 + "noise\n" 6
    assert "line 4: hit: 25 hit ✓ three" in out  # "naïve hit\n" is 11 bytes
    assert "line 6: hit: 40 hit four" in out  # "hit ✓ three\n" 14 bytes, then an empty line
