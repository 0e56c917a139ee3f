"""The http source's server itself: the bound on a request's head, the pure-Python parser
uvicorn falls back to without httptools, and a stop that does not wait for idle clients."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import requests

from ruleengine.sources.http import server
from tests.support.intakekit import running_intake


def _raw(url: str, request: bytes) -> bytes | None:
    """Send ``request`` as is; everything the server answers until it closes, or None if
    it reset the connection (refusing while the request was still being sent)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        try:
            conn.sendall(request)
            while chunk := conn.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return None
    return answer


def _big_head(size: int) -> bytes:
    return (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        + b"X-Padding: " + b"a" * size + b"\r\n\r\n{}"
    )  # fmt: skip


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_head_over_the_bound_is_refused_and_the_connection_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parser: str
) -> None:
    if parser == "h11":
        monkeypatch.setattr(server, "PROTOCOL", "h11")
    elif server.PROTOCOL == "h11":
        pytest.skip("httptools is not installed here")
    with running_intake(tmp_path) as intake:
        answer = _raw(intake.url, _big_head(16 * server.MAX_HEAD))  # beyond any one read
        assert answer is None or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer
        # A head within the bound is read (and refused for its missing token, as usual).
        within = _raw(
            intake.url, _big_head(1024).replace(b"Host: x", b"Host: x\r\nConnection: close")
        )
        assert within is not None and within.startswith(b"HTTP/1.1 401"), within
        assert intake.texts() == []


def test_the_pure_python_parser_serves_the_intake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where httptools has no wheel, uvicorn parses with h11: same answers, same events."""
    monkeypatch.setattr(server, "PROTOCOL", "h11")
    with running_intake(tmp_path) as intake:
        assert intake.post({"type": "server.rebooted", "host": "h11"}).status_code == 202
        assert intake.post({"type": "x"}, client=None).status_code == 401
        assert intake.texts() == ["h11 rebooted (from alice)"]


def test_stop_does_not_wait_for_an_idle_keep_alive_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client keeping its connection open (a forwarding agent's session) must not hold
    the daemon's stop until the graceful timeout, nor leave the connection unclosed."""
    caplog.set_level(logging.WARNING)
    with requests.Session() as session, running_intake(tmp_path) as intake:
        answer = intake.post({"type": "server.rebooted", "host": "a"}, session=session)
        assert answer.status_code == 202
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")], caplog.text
