"""``send --to D`` keeps the daemon's promise: D's ``retry:`` and its ``fallback:`` chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.cli import main
from tests.support.receiver import Receiver, Reply

RULES = """\
state_dir: state
destinations:
  chat:
    type: webhook
    url: "{chat}"
    fallback: mail
    retry: {{max_attempts: 3, backoff: 10ms}}
  mail:
    type: webhook
    url: "{mail}"
    fallback: last
  last: {{type: webhook, url: "{last}"}}
sources:
  s: {{type: markers, directory: m}}
rules:
  - {{name: r, source: s, message: hi, to: chat}}
"""


@pytest.fixture
def rules(tmp_path: Path, receiver: Receiver) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        RULES.format(
            chat=f"{receiver.url}/chat", mail=f"{receiver.url}/mail", last=f"{receiver.url}/last"
        ),
        encoding="utf-8",
    )
    return path


def send(capsys: pytest.CaptureFixture[str], rules: Path, *argv: str) -> tuple[int, str]:
    code = main(["send", "-c", str(rules), "-m", "Backup done", *argv])
    return code, capsys.readouterr().err


def paths(receiver: Receiver) -> list[str]:
    return [request.path for request in receiver.requests]


def test_delivered_to_the_destination_exits_0(
    rules: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = send(capsys, rules, "--to", "chat")
    assert (code, err) == (0, "")
    assert paths(receiver) == ["/chat"]


def test_the_destinations_retry_policy_applies(
    rules: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.reply(Reply(status=503), Reply(status=503))
    code, err = send(capsys, rules, "--to", "chat")
    assert code == 0
    assert paths(receiver) == ["/chat"] * 3  # max_attempts: 3, without any --retry
    assert "attempt 1 of 3 failed (HTTP 503" in err


def test_failure_falls_back_and_exits_3(
    rules: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.reply(*[Reply(status=500, body="down")] * 3)
    code, err = send(capsys, rules, "--to", "chat", "-q")
    assert code == 3
    assert paths(receiver) == ["/chat"] * 3 + ["/mail"]
    notice = receiver.requests[-1].json()["text"]
    assert notice.startswith("Could not deliver to chat (HTTP 500: down). Original message:")
    assert notice.endswith("Backup done")
    assert "delivered by fallback mail only" in err


def test_the_chain_is_followed_and_nowhere_exits_1(
    rules: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.default = Reply(status=404, body="gone")  # permanent: no retries anywhere
    code, err = send(capsys, rules, "--to", "chat")
    assert code == 1
    assert paths(receiver) == ["/chat", "/mail", "/last"]
    assert "not delivered to last: HTTP 404: gone" in err


def test_retry_flag_overrides_the_policy(
    rules: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.reply(Reply(status=503))
    code, _ = send(capsys, rules, "--to", "chat", "--retry", "0", "-q")
    assert code == 3
    assert paths(receiver) == ["/chat", "/mail"]
