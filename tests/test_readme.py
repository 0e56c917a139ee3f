"""The README tells the truth: its rules example checks, its marker pattern matches what
`emit` writes (renamed or not), and the commands behave as it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ruleengine import api
from ruleengine.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def rules_example(tmp_path: Path) -> Path:
    """The README's rules-file example, with its paths moved into ``tmp_path``."""
    section = README.split("## The rules file", 1)[1]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    text = text.replace("/var/lib/ruleengine", str(tmp_path / "state"))
    text = text.replace("/var/spool/ruleengine/updates", str(tmp_path / "updates"))
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "updates").mkdir()
    return path


def test_the_rules_example_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
    assert main(["check", "-c", str(rules_example(tmp_path))]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "OK (2 sources, 2 rules, 3 destinations)" in out
    assert "nothing was started" not in err


def test_the_readme_pattern_matches_what_emit_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = api.load(rules_example(tmp_path), lazy_secrets=True)
    written = []
    for _ in range(2):  # the second name is taken: emit adds its unique part
        argv = ["emit", "rebooted", "updates=KB5034441", "--dir", str(tmp_path / "updates")]
        assert main([*argv, "--host", "web1"]) == 0
        written.append(Path(capsys.readouterr().out.strip()))
    assert written[0].name == "web1.rebooted.json"
    assert re.fullmatch(r"web1\.\d{8}T\d{6}Z-\d+\.rebooted\.json", written[1].name)
    for path in written:
        [out] = api.evaluate(rules, api.marker_events(path, ["updates"]))
        # One value, not "K, B, 5, …": `join` leaves a string whole.
        assert out.notification.text == "web1 rebooted after installing KB5034441"


def test_join_still_joins_a_list(tmp_path: Path) -> None:
    rules = api.load(rules_example(tmp_path), lazy_secrets=True)
    data = b'{"updates": ["KB1", "KB2"]}'
    events = api.marker_events(Path("web1.rebooted.json"), ["updates"], data)
    [out] = api.evaluate(rules, events)
    assert out.notification.text == "web1 rebooted after installing KB1, KB2"


def test_marker_by_name_alone_has_the_daemons_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = rules_example(tmp_path)
    argv = ["test", "-c", str(rules), "--marker", "web1.rebooted.json"]
    assert main([*argv, "--data", '{"updates": "KB9"}']) == 0
    out = capsys.readouterr().out
    assert "web1 rebooted after installing KB9" in out
    [event] = api.marker_events(Path("web1.rebooted.json"), ["updates"], b"")
    assert event.fields["relpath"] == "web1.rebooted.json"
    assert event.fields["data"] == {"content": "", "lines": []}
    assert main(["test", "-c", str(rules), "--marker", "web1.rebooted.json"]) == 0
    assert "no file web1.rebooted.json: testing the name alone" in capsys.readouterr().err


def test_no_render_renders_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = rules_example(tmp_path)
    log = tmp_path / "syslog"
    log.write_text("installer[1]: Package 7zip install FAILED exit=1603\n" * 3)
    assert main(["test", "-c", str(rules), "--file", str(log), "--no-render"]) == 0
    out = capsys.readouterr().out
    assert "7zip failed to install" not in out  # before: the first lines were rendered
    assert re.search(r"\b3\s+install-failed", out)


def test_only_run_says_nothing_was_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("state_dir: x\n")
    for command in (["check"], ["status"], ["send", "--to", "x", "-m", "hi"]):
        assert main([*command, "-c", str(rules)]) in (1, 2)
        err = capsys.readouterr().err
        assert "problem" in err or "no state database" in err or "not run" in err, err
        assert "nothing was started" not in err
    assert main(["run", "-c", str(rules)]) == 2
    assert capsys.readouterr().err.endswith("found; nothing was started\n")
