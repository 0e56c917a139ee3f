"""``ruleengine emit --url``: one event posted to a real http source, as a script would."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.daemon import run_cli
from tests.support.intakekit import TOKENS, running_intake
from tests.support.outbox import outbox

RULES = """\
- name: installed
  source: intake
  type: installed
  message: "{{ host }}: {{ package }} {{ kbs | join(',') }} ({{ client }})"
"""


def test_emit_posts_one_event_and_exits_0_once_durable(tmp_path: Path) -> None:
    with running_intake(tmp_path, rules=RULES) as intake:
        done = run_cli(
            "emit", "installed", "package=7zip", 'kbs:=["KB1","KB2"]', "--host", "web1",
            "--url", intake.url, "--token-file", str(tmp_path / "bob.token"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert '"accepted": 1' in done.stdout
        assert intake.texts() == ["web1: 7zip KB1,KB2 (bob)"]
        assert outbox(intake.state)[0]["fields"]["type"] == "installed"


def test_a_refusal_is_exit_1_with_the_reason_and_no_token_shown(tmp_path: Path) -> None:
    with running_intake(tmp_path, rules=RULES, source="accept_types: [installed]\n") as intake:
        done = run_cli(
            "emit", "rebooted", "--url", intake.url,
            "--token-file", str(tmp_path / "alice.token"),
        )  # fmt: skip
        assert done.returncode == 1
        assert "422" in done.stderr and "unknown_type" in done.stderr
        assert TOKENS["alice"] not in done.stderr + done.stdout
        bad = tmp_path / "wrong.token"
        bad.write_text("not-the-token-at-all", encoding="utf-8")
        done = run_cli("emit", "installed", "--url", intake.url, "--token-file", str(bad))
        assert done.returncode == 1
        assert "401" in done.stderr and "not-the-token-at-all" not in done.stderr
        assert intake.texts() == []


def test_unreachable_intake_is_exit_1_after_the_retries(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli(
        "emit", "x", "--url", f"http://127.0.0.1:{port}", "--retry", "1", "--retry-secs", "0",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("cannot reach") == 2


@pytest.mark.parametrize(
    "args",
    [
        ("x", "--url", "http://127.0.0.1:1", "--dir", "."),  # one or the other
        ("x", "type=y", "--url", "http://127.0.0.1:1"),
        ("x", "--url", "http://127.0.0.1:1", "--token-file", "/nonexistent/token"),
    ],
)
def test_usage_mistakes_are_exit_2(args: tuple[str, ...]) -> None:
    assert run_cli("emit", *args).returncode == 2
