"""``ruleengine send`` against the real loopback receiver: exit codes, retries, secrets."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from ruleengine.cli import main
from ruleengine.commands.send_target import UsageError, _field_for, sender_types
from tests.support.daemon import command
from tests.support.receiver import Receiver, Reply

SECRET_PATH = "hooks/T0001/B0002/sendsecretXYZ"  # noqa: S105 - a fake, to grep for
TOKEN = "tok-sendsecret-987654"  # noqa: S105 - a fake, to grep for


def send(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``ruleengine send`` in-process; (exit code, stdout, stderr)."""
    code = main(["send", *argv])
    out, err = capsys.readouterr()
    assert "sendsecret" not in out + err, "a secret reached the output"
    return code, out, err


def webhook(receiver: Receiver) -> list[str]:
    return ["--type", "webhook", "--url", f"{receiver.url}/{SECRET_PATH}"]


def test_delivered_exits_0_with_the_message(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = send(
        capsys,
        *webhook(receiver),
        "-m",
        "KB5034441 installed on web1",
        "--title",
        "Updates",
        "--color",
        "green",
        "--notify",
    )
    assert (code, out, err) == (0, "", "")
    (request,) = receiver.requests
    body = request.json()
    assert request.path == f"/{SECRET_PATH}"
    assert body["text"] == "KB5034441 installed on web1"
    assert (body["title"], body["color"], body["notify"]) == ("Updates", "green", True)


def test_retries_then_delivers(receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    receiver.reply(Reply(status=503), Reply(status=502))
    code, _, err = send(
        capsys, *webhook(receiver), "-m", "hi", "--retry", "2", "--retry-secs", "0.01"
    )
    assert code == 0
    assert len(receiver.requests) == 3
    assert len({r.json()["id"] for r in receiver.requests}) == 1  # one id: idempotent retries
    assert "attempt 1 of 3 failed (HTTP 503" in err


def test_not_delivered_after_retries_exits_1(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.default = Reply(status=500, body="boom")
    code, _, err = send(
        capsys, *webhook(receiver), "-m", "hi", "--retry", "2", "--retry-secs", "0.01", "-q"
    )
    assert code == 1
    assert len(receiver.requests) == 3
    assert (
        err.strip() == "ruleengine send: not delivered to webhook after 3 attempts: HTTP 500: boom"
    )


def test_permanent_error_is_not_retried(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.reply(Reply(status=404, body="no_such_channel"))
    code, _, err = send(capsys, *webhook(receiver), "-m", "hi", "--retry", "5", "--retry-secs", "0")
    assert code == 1
    assert len(receiver.requests) == 1
    assert "HTTP 404: no_such_channel" in err


def test_retry_after_is_honoured(receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    receiver.reply(Reply(status=429, headers={"Retry-After": "1"}))
    code, _, _ = send(capsys, *webhook(receiver), "-m", "hi", "--retry", "1", "--retry-secs", "0")
    assert code == 0
    first, second = receiver.requests
    assert second.time - first.time >= 1.0 - 0.03


def test_retry_after_beyond_max_wait_gives_up_at_once(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.reply(Reply(status=429, body='{"retry_after": 600}'))
    code, _, err = send(capsys, *webhook(receiver), "-m", "hi", "--retry", "3", "--max-wait", "5s")
    assert code == 1
    assert len(receiver.requests) == 1
    assert "asked to wait 600s, more than --max-wait 5s" in err


def test_closed_port_exits_1_without_leaking_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:9/{SECRET_PATH}"
    code, _, err = send(capsys, "--type", "webhook", "--url", url, "-m", "hi", "--retry-secs", "0")
    assert code == 1
    assert "Connection refused" in err


def test_console_type_and_message_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("backup done\n"))
    code, out, _ = send(capsys, "--type", "console", "--set", "color_output=never", "-m", "-")
    assert code == 0
    assert "YELLOW: backup done" in out  # the original tool's default colour


def test_set_fills_any_field_and_masks_secret_ones(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.default = Reply(status=401, body=f"bad token {TOKEN}")
    code, _, err = send(
        capsys,
        *webhook(receiver),
        "--set",
        f"headers.Authorization=Bearer {TOKEN}",
        "--set",
        "method=PUT",
        "-m",
        "hi",
    )
    assert code == 1 and "bad token ***" in err
    (request,) = receiver.requests
    assert request.method == "PUT"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_destination_from_the_rules_file(
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    write_rules,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("ROOM_URL", f"{receiver.url}/{SECRET_PATH}")
    rules = write_rules(
        """
state_dir: state
defaults: {to: room, color: purple}
destinations:
  room: {type: webhook, url: "${env:ROOM_URL}"}
sources:
  s: {type: markers, directory: m}
rules:
  - {name: r, source: s, message: hi}
"""
    )
    code, _, _ = send(capsys, "-c", str(rules), "--to", "room", "-m", "from rules")
    assert code == 0
    assert receiver.requests[0].json()["color"] == "purple"  # the file's default colour
    assert not (rules.parent / "state").exists(), "send needs no state directory"

    code, _, err = send(capsys, "-c", str(rules), "--to", "rom", "-m", "x")
    assert code == 2 and "no destination 'rom'; defined: room" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "hi"], "no destination"),
        (["-m", "hi", "--type", "carrier-pigeon"], "unknown sender 'carrier-pigeon'; known: "),
        (["-m", "hi", "--type", "webhook"], "url: Field required"),
        (
            ["-m", "hi", "--type", "webhook", "--url", "ftp://x"],
            "invalid webhook destination: url:",
        ),
        (["-m", "hi", "--type", "webhook", "--url", "http://h/p", "--set", "x"], "KEY=VALUE"),
        (["-m", "hi", "--type", "webhook", "--url", "http://h/p", "--token", "t"], "--set"),
        (["-m", "hi", "--type", "webhook", "--url", "http://h", "--token-env", "NOPE_X"], "NOPE"),
        (["-m", "hi", "--to", "a", "--type", "console"], "not both"),
        (["-m", "hi", "--to", "a", "--url", "http://h"], "only with --type"),
        (["-m", "hi", "--type", "console", "--color", "blue"], "--color"),
        (["-m", "  ", "--type", "console"], "empty"),
        (["-m", "hi", "--type", "console", "--set", "nope=1"], "Extra inputs"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = send(capsys, *argv)
    assert code == 2
    assert message in err
    assert out == ""


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["send", "--type", "console", "-m", "hi", "--retry", "-1"])
    assert caught.value.code == 2
    assert "--retry" in capsys.readouterr().err


@pytest.mark.slow
def test_real_process_exit_codes(receiver: Receiver, tmp_path: Path) -> None:
    """As a script would call it: token from the environment, message on stdin."""
    base = command("send", "--retry-secs", "0")
    env = {"PATH": "/usr/bin:/bin", "HOOK_TOKEN": TOKEN}
    url = f"{receiver.url}/{SECRET_PATH}"
    ok = subprocess.run(
        [*base, "--type", "webhook", "--url", url, "--set", "headers.X-Token=x", "-m", "-"],
        input="line one\nline two\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert receiver.requests[0].json()["text"] == "line one\nline two"
    closed = subprocess.run(
        [*base, "--type", "webhook", "--url", f"http://127.0.0.1:9/{SECRET_PATH}", "-m", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert closed.returncode == 1
    assert "Connection refused" in closed.stderr
    for result in (ok, closed):
        assert "sendsecret" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_generic_flags_find_the_matching_field() -> None:
    """--url/--room/--token fill `url`, or the one `*_url` / `room_*` / `*_token` field, so
    sender types added later (slack's webhook_url, matrix's access_token) work unchanged."""

    class ChatLike(BaseModel):
        type: str
        homeserver: str
        room_id: str
        bot_token: str
        user_token: str

    class Other(BaseModel):
        type: str
        callback_url: str

    assert _field_for(ChatLike, "url", "chat") == "homeserver"
    assert _field_for(ChatLike, "room", "chat") == "room_id"
    assert _field_for(Other, "url", "other") == "callback_url"
    with pytest.raises(UsageError, match="no token setting"):
        _field_for(ChatLike, "token", "chat")  # two candidates: refuse to guess


def test_sender_types_come_from_the_destination_union() -> None:
    assert {"console", "webhook"} <= set(sender_types())


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_format_reaches_the_sender(
    fmt: str, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """Slack: text is escaped (``<!here>`` cannot ping), markdown is formatted as written."""
    slack = ["--type", "slack", "--url", f"{receiver.url}/{SECRET_PATH}"]
    code, _, _ = send(capsys, *slack, "-m", "*done* <!here>", "--format", fmt)
    assert code == 0
    (attachment,) = receiver.requests[0].json()["attachments"]
    if fmt == "markdown":
        assert (attachment["text"], attachment["mrkdwn_in"]) == ("*done* <!here>", ["text"])
    else:
        assert attachment["text"] == "*done* &lt;!here&gt;" and "mrkdwn_in" not in attachment


def test_format_defaults_to_text_and_rejects_others(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", "--type", "console", "-m", "hi", "--format", "html"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
