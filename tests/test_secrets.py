"""Secrets never reach output (issue 9): real daemon subprocesses at ``--log-level debug`` (text
and JSON) deliver to destinations whose URLs and tokens are secrets, through receivers that
refuse (401 echoing the secrets back), time out and are not there at all; then ``dead list``,
``send``, ``test`` and ``check`` run on the same rules. No token, secret URL path or secret
header value may appear anywhere, nor in the state database's error column.

Every secret contains the same marker, so one case-insensitive search finds any of them.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, run_cli
from tests.support.outbox import outbox_rows
from tests.support.receiver import Receiver, Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MARK = "s3cr3t"
ENV_TOKEN = "envhookS3CR3Ttoken0001"  # noqa: S105 - fakes, to grep for
SLACK_TOKEN = "slackS3CR3Ttoken000002"  # noqa: S105
FILE_TOKEN = "fileS3CR3Ttoken0000003"  # noqa: S105
REFUSED_TOKEN = "refusedS3CR3Ttoken004"  # noqa: S105
HEADER_TOKEN = "headerS3CR3Ttoken0005"  # noqa: S105
CLI_TOKEN = "cliS3CR3Ttoken00000006"  # noqa: S105
SECRETS = (ENV_TOKEN, SLACK_TOKEN, FILE_TOKEN, REFUSED_TOKEN, HEADER_TOKEN, CLI_TOKEN)

RULES = """\
state_dir: state
destinations:
  room: {{type: webhook, url: "${{env:RE_HOOK_URL}}", fallback: chat}}
  chat:
    type: slack
    webhook_url: "{slow}/services/T0000/B0000/{slack}"
    timeout: 0.5
    retry: {{max_attempts: 2, backoff: 0.1s}}
    fallback: hip
  hip:
    type: hipchat
    url: "{hip}"
    room: ops
    token: "${{file:hip.token}}"
    fallback: gone
  gone:
    type: webhook
    url: "http://127.0.0.1:9/hooks/{refused}"
    headers: {{Authorization: "Bearer {header}"}}
    retry: {{max_attempts: 2, backoff: 0.1s}}
sources:
  app: {{type: logfile, paths: [app.log], start_at: beginning}}
rules:
  - name: line
    source: app
    match: 'deploy (?P<what>\\w+)'
    to: room
    message: "deployed {{{{ what }}}}"
"""


def run(*argv: str, env: dict[str, str]) -> str:
    result = run_cli(*argv, env=env)
    return f"$ ruleengine {argv[0]} … → {result.returncode}\n{result.stdout}{result.stderr}"


def echoing(secret: str) -> Receiver:
    """A service that refuses and echoes its own credential back, as some do in errors."""
    receiver = Receiver()
    body = f"bad token {secret} for /hooks/{secret}"
    receiver.default = Reply(status=401, body=f'{{"error": {{"message": "{body}"}}}}')
    return receiver


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    room, hip, cli = echoing(ENV_TOKEN), echoing(FILE_TOKEN), echoing(CLI_TOKEN)
    slow = Receiver()
    slow.default = Reply(status=200, delay=1.5)  # past the 0.5 s client timeout
    (tmp_path / "hip.token").write_text(FILE_TOKEN + "\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    outputs: list[str] = []
    with room, hip, cli, slow:
        env = {"RE_HOOK_URL": f"{room.url}/hooks/{ENV_TOKEN}", "RE_CLI_TOKEN": CLI_TOKEN}
        rules.write_text(
            RULES.format(
                slow=slow.url,
                hip=hip.url,
                slack=SLACK_TOKEN,
                refused=REFUSED_TOKEN,
                header=HEADER_TOKEN,
            ),
            encoding="utf-8",
        )
        for round_, fmt in enumerate(("text", "json")):
            with (tmp_path / "app.log").open("a", encoding="utf-8") as log:
                log.write(f"deploy shop{round_}\n")
            daemon = DaemonProcess(rules, "--log-level", "debug", "--log-format", fmt, env=env)
            with daemon:
                # room → chat → hip → gone: four dead letters, each failing its own way.
                daemon.wait_for_log("dead-lettered", timeout=30.0, count=4)
                assert daemon.stop() == 0
            outputs.append(daemon.output)

        for argv in (
            ("dead", "list", "-c", str(rules)),
            ("dead", "list", "--json", "-c", str(rules)),
            ("check", "-c", str(rules)),
            ("test", "-c", str(rules), "--line", "deploy preview"),
            ("send", "-m", "hi", "--to", "room", "-c", str(rules)),
            ("send", "-m", "hi", "--to", "gone", "-c", str(rules), "--retry", "1"),
            ("send", "-m", "hi", "--type", "webhook", "--url", f"{cli.url}/x/{CLI_TOKEN}"),
            (
                "send", "-m", "hi", "--type", "hipchat", "--url", slow.url, "--room", "ops",
                "--token-env", "RE_CLI_TOKEN", "--retry", "1", "--retry-secs", "0.1",
                "--set", "timeout=0.5",
            ),
            ("send", "-m", "hi", "--type", "slack", "--url", f"http://127.0.0.1:9/s/{CLI_TOKEN}"),
        ):  # fmt: skip
            outputs.append(run(*argv, env=env))

    stored = [row["last_error"] or "" for row in outbox_rows(tmp_path / "state")]
    everything = "\n".join(outputs + stored)

    # Not vacuous: every failure path ran and was logged, and debug logging was on.
    for evidence in ("HTTP 401", "timed out", "Connection refused", "DEBUG", '"level": "debug"'):
        assert evidence in everything, evidence
    assert everything.count("dead-lettered") >= 8
    assert len(room.requests) >= 3 and len(hip.requests) >= 2 and len(slow.requests) >= 4

    leaked = [line for line in everything.splitlines() if MARK in line.lower()]
    assert not leaked, "secrets leaked:\n" + "\n".join(leaked[:20])
    for secret in SECRETS:  # and no secret URL path, even partly masked
        assert f"/hooks/{secret}" not in everything


def test_credentials_come_from_the_settings_types_not_key_names() -> None:
    """Typed ``Secret`` fields are redacted; a field merely named like one (thread_key) is not."""
    from ruleengine.redact import credentials  # noqa: PLC0415
    from tests.support.senders import settings_for  # noqa: PLC0415

    chat = settings_for(
        "googlechat",
        webhook_url="https://chat.example.com/v1/spaces/AAA/messages?key=k3y-value-0042",
        thread_key="deploys-2024-thread",
    )
    found = credentials(chat)
    assert "k3y-value-0042" in found
    assert "deploys-2024-thread" not in found
    assert "chat.example.com" not in found
    ntfy = settings_for("ntfy", topic="ops", username="bot", password="pw-0123456789")  # noqa: S106
    found = credentials(ntfy)
    # The password, and the Basic/AUTH base64 forms a server may echo back.
    assert "pw-0123456789" in found
    assert base64.b64encode(b"bot:pw-0123456789").decode() in found
    assert not any(value == "bot" for value in found)
