"""``check`` warns about regexes that can backtrack catastrophically (issue 14: ``^(a+)+$``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ruleengine.api import running
from ruleengine.cli import main
from ruleengine.rules import redos, reparse


@pytest.mark.parametrize(
    ("pattern", "risky"),
    [
        (r"^(a+)+$", True),
        (r"(x*)*", True),
        (r"^(?:\w+\s?)+$", True),
        (r"(a+|b)*c", True),
        (r"(.*?,)*x", True),
        (r"(?P<user>\S+) from (?P<ip>[\d.]+)", False),
        (r"(a|b)+", False),
        (r"(\d{1,3}\.){3}\d{1,3}", False),
        (r"(a++)+", False),  # possessive: no backtracking into the inner repeat
        (r"(?>a+)+", False),  # atomic
        (r"((a)+)?", False),
    ],
)
def test_nested_quantifiers(pattern: str, risky: bool) -> None:
    assert redos.nested_quantifier(pattern) is risky


def test_a_parser_surprise_means_no_judgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """``re._parser`` is private; if it breaks on some Python, patterns are simply not judged."""

    class Broken:
        @staticmethod
        def parse(pattern: str, flags: int) -> None:
            raise AttributeError("changed in a later Python")

    monkeypatch.setattr(reparse, "sre_parse", Broken)
    assert redos.nested_quantifier(r"^(a+)+$") is False


def test_check_warns_with_file_line_and_rule_but_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """state_dir: state
destinations: {screen: {type: console}}
sources: {app: {type: logfile, paths: [app.log]}}
rules:
  - name: fine
    source: app
    match: 'login failed for (?P<user>\\S+)'
    message: '{{ user }}'
    to: [screen]
  - name: slow
    source: app
    match: '^(a+)+$'
    message: slow
    to: [screen]
""",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(rules)]) == 0
    out, err = capsys.readouterr()
    assert "OK" in out
    [warning] = err.splitlines()
    assert warning.startswith(f"{rules}:12: rules[1].match: warning: nested quantifiers")
    assert "'slow'" in warning


def test_the_example_rules_have_no_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parent.parent / "rules.example.yaml"
    assert main(["check", "-c", str(example)]) == 0
    assert capsys.readouterr().err == ""


def test_run_logs_the_warnings_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """state_dir: state
destinations: {screen: {type: console}}
sources: {app: {type: logfile, paths: [app.log]}}
rules:
  - {name: slow, source: app, match: '^(x+)+y$', message: slow, to: [screen]}
""",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="ruleengine"), running(rules):
        pass
    assert any("nested quantifiers in rule 'slow'" in r.getMessage() for r in caplog.records)
