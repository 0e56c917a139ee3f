"""Hostile servers (issue 14): replies are size- and time-bounded, echoed credentials redacted.

Real loopback servers from ``tests/support/hostile.py``. Sizes are asserted on bytes the server
got out (not on memory); time limits on how the attempt is classified (not on durations).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from ruleengine.model import Retry
from ruleengine.senders.deadline import REPLY_BYTES, TIMED_OUT
from tests.support.daemon import DaemonProcess, run_cli
from tests.support.hostile import (
    HTTP_TRICKLE,
    SMTP_TRICKLE,
    HostileServer,
    echo_auth,
    endless,
    trickle,
)
from tests.support.outbox import outbox_rows
from tests.support.senders import make, note

# Loopback socket buffers hold a few MB; a client reading the whole body takes all 256 MB.
BUFFERS = 32 * 1024 * 1024


@pytest.mark.parametrize("status", [500, 200])
def test_an_endless_body_is_cut_while_streaming(status: int) -> None:
    with HostileServer(endless(status=status)) as server:
        sender = make("webhook", url=f"{server.url}/hook", timeout=20)
        try:
            outcome = sender.send(note())
        finally:
            sender.close()
    assert server.sent < BUFFERS, f"the client read {server.sent} bytes of an endless body"
    if status == 500:
        assert isinstance(outcome, Retry)
        assert outcome.reason.startswith("HTTP 500: AAAA")
        assert len(outcome.reason) < 300


def test_the_reply_kept_is_at_most_the_cap() -> None:
    from ruleengine.redact import Redactor  # noqa: PLC0415
    from ruleengine.senders.http import HttpClient  # noqa: PLC0415

    with HostileServer(endless(status=400)) as server:
        client = HttpClient(Redactor(), timeout=20)
        try:
            reply = client.request("POST", server.url, json_body={})
        finally:
            client.close()
    assert not isinstance(reply, Retry)
    assert reply.status == 400
    assert len(reply.text) == REPLY_BYTES


def test_a_trickling_http_server_is_a_timeout() -> None:
    """Every byte comes within the socket timeout; the attempt's deadline ends it."""
    with HostileServer(trickle(HTTP_TRICKLE)) as server:
        sender = make("webhook", url=f"{server.url}/hook", timeout=0.5)
        try:
            outcome = sender.send(note())
        finally:
            sender.close()
    assert outcome == Retry(TIMED_OUT)
    assert 0 < server.sent < len(HTTP_TRICKLE)


def test_a_trickling_smtp_server_is_a_timeout() -> None:
    with HostileServer(trickle(SMTP_TRICKLE)) as server:
        sender = make(
            "email", host="127.0.0.1", port=server.port, security="none", to="a@example.com",
            timeout=0.5,
        )  # fmt: skip
        outcome = sender.send(note())
    assert outcome == Retry(TIMED_OUT)
    assert 0 < server.sent < len(SMTP_TRICKLE)


def test_an_endless_smtp_reply_is_cut() -> None:
    def greeting(conn, server):  # type: ignore[no-untyped-def]
        line = b"220-" + b"a" * 1000 + b"\r\n"
        while server.sent < 256 * 1024 * 1024 and not server.stopped.is_set():
            conn.sendall(line)
            server.count(len(line))

    with HostileServer(greeting) as server:
        sender = make(
            "email", host="127.0.0.1", port=server.port, security="none", to="a@example.com",
            timeout=20,
        )  # fmt: skip
        outcome = sender.send(note())
    assert isinstance(outcome, Retry)
    assert "longer than" in outcome.reason
    assert server.sent < BUFFERS


USER, PASSWORD = "bot", "pw-Echo-0123456789"
TOKEN = "tok-Echo-9876543210"  # noqa: S105


def forms() -> list[str]:
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [PASSWORD, pair, pair.rstrip("="), TOKEN]


RULES = """\
state_dir: state
destinations:
  basic:
    type: ntfy
    url: "{url}"
    topic: ops
    username: {user}
    password: "{password}"
    retry: {{max_attempts: 2, backoff: 0.1s}}
  inurl:
    type: webhook
    url: "http://{user}:{password}@127.0.0.1:{port}/hook"
    retry: {{max_attempts: 2, backoff: 0.1s}}
  bearer:
    type: gotify
    url: "{url}"
    token: "{token}"
    retry: {{max_attempts: 2, backoff: 0.1s}}
sources:
  app: {{type: logfile, paths: [app.log], start_at: beginning}}
rules:
  - name: line
    source: app
    match: 'deploy (?P<what>\\w+)'
    to: [basic, inurl, bearer]
    message: "deployed {{{{ what }}}}"
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_echoed_credentials_are_redacted_everywhere(tmp_path: Path) -> None:
    """Servers quote the Authorization header (raw and decoded) in their errors."""
    (tmp_path / "app.log").write_text("deploy shop\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    with HostileServer(echo_auth()) as server:
        rules.write_text(
            RULES.format(
                url=server.url, port=server.port, user=USER, password=PASSWORD, token=TOKEN
            ),
            encoding="utf-8",
        )
        with DaemonProcess(rules, "--log-level", "debug") as daemon:
            daemon.wait_for_log("dead-lettered", timeout=30.0, count=3)
            assert daemon.stop() == 0
        outputs = [daemon.output]
        for argv in (
            ("status", "-c", str(rules)),
            ("dead", "list", "-c", str(rules)),
            ("dead", "list", "--json", "-c", str(rules)),
            ("test", "-c", str(rules), "--line", "deploy preview"),
            ("send", "-m", "hi", "--to", "basic", "-c", str(rules)),
            ("send", "-m", "hi", "--to", "inurl", "-c", str(rules)),
        ):
            result = run_cli(*argv)
            outputs.append(f"$ {argv}\n{result.stdout}{result.stderr}")
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        rows = conn.execute("SELECT * FROM outbox").fetchall()
    # Every column as stored, and the (compressed) records decoded.
    everything = "\n".join(outputs) + repr(rows) + json.dumps(outbox_rows(tmp_path / "state"))
    assert server.sent > 0 and "denied" in everything  # the echoes were received and shown
    assert "Basic ***" in everything or "denied ***" in everything
    leaked = [form for form in forms() if form in everything]
    assert not leaked, f"credentials leaked: {leaked}\n{everything[-3000:]}"


def test_a_compressed_reply_is_cut_after_decoding() -> None:
    """A small gzip body that inflates to 100 MB: the cap counts decoded bytes."""
    import gzip  # noqa: PLC0415
    import socket  # noqa: PLC0415

    from ruleengine.redact import Redactor  # noqa: PLC0415
    from ruleengine.senders.http import HttpClient  # noqa: PLC0415
    from tests.support.hostile import read_request  # noqa: PLC0415

    body = gzip.compress(b"x" * 100_000_000)

    def bomb(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn)
        head = f"HTTP/1.1 400 Bad\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)

    with HostileServer(bomb) as server:
        client = HttpClient(Redactor(), timeout=20)
        try:
            reply = client.request("POST", server.url, json_body={})
        finally:
            client.close()
    assert not isinstance(reply, Retry)
    assert len(reply.text) == REPLY_BYTES
