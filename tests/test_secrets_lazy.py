"""A command needs only the secrets of the destinations it uses; `run` and `check` need all."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.state.store import Store

RULES = """\
state_dir: state
destinations:
  chat: {type: slack, webhook_url: "${env:RE_LAZY_SLACK_URL}"}
  hook: {type: webhook, url: "https://example.invalid/${env:RE_LAZY_HOOK_TOKEN}"}
  out: {type: console}
sources:
  app: {type: logfile, paths: [app.log]}
rules:
  - {name: deploy, source: app, match: 'deploy (?P<what>\\S+)', message: '{{ what }}', to: [out]}
"""


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("RE_LAZY_SLACK_URL", raising=False)
    monkeypatch.delenv("RE_LAZY_HOOK_TOKEN", raising=False)
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_test_needs_no_secret(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "test", "-c", str(rules), "--line", "deploy shop")
    assert code == 0, err
    assert "shop" in out
    assert "not set" not in err


def test_dead_list_needs_no_secret(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Store(rules.parent / "state").close()
    code, out, err = cli(capsys, "dead", "list", "-c", str(rules))
    assert (code, out.strip()) == (0, "no dead letters"), err


def test_send_needs_only_its_destination(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "send", "-m", "hello", "--to", "out", "-c", str(rules))
    assert code == 0, err
    assert "hello" in out
    code, _, err = cli(capsys, "send", "-m", "hello", "--to", "chat", "-c", str(rules))
    assert code == 2
    assert "destinations.chat.webhook_url: environment variable RE_LAZY_SLACK_URL is not set" in err
    assert "RE_LAZY_HOOK_TOKEN" not in err  # not this command's business


def test_check_lists_every_missing_secret(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "check", "-c", str(rules))
    assert code == 2
    assert "RE_LAZY_SLACK_URL is not set" in err
    assert "RE_LAZY_HOOK_TOKEN is not set" in err


def test_check_no_secrets_warns(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "check", "--no-secrets", "-c", str(rules))
    assert code == 0
    assert "OK" in out
    assert "RE_LAZY_SLACK_URL is not set (warning: --no-secrets)" in err
    assert "RE_LAZY_HOOK_TOKEN is not set (warning: --no-secrets)" in err


def test_run_fails_fast_listing_every_missing_secret(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "run", "-c", str(rules))
    assert code == 2
    assert "RE_LAZY_SLACK_URL is not set" in err
    assert "RE_LAZY_HOOK_TOKEN is not set" in err
    assert not (rules.parent / "state" / "state.db").exists()
