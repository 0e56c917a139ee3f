"""Every HTTP sender against the real loopback receiver: one table, the same failure matrix.

The table is ``tests.support.senders.CASES`` (the hostile-line tests share it). Per-sender files
check payload shapes; this file checks what all senders must share: success codes, permanent
4xx, retryable 408/5xx, every 429 wait style, timeouts, connection refused, previews that equal
the request sent, and secrets that never reach an outcome or a preview.
"""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from ruleengine.model import Delivered, Outcome, Permanent, Retry
from tests.support.receiver import Receiver, Reply
from tests.support.senders import CASES, KINDS, SECRET, note, send_one, sender_for


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connection refused, immediately."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def outcome_of(kind: str, receiver: Receiver, *replies: Reply, **extra: Any) -> Outcome:
    receiver.reply(*replies)
    sender = sender_for(kind, receiver.url, **extra)
    try:
        return sender.send(note())
    finally:
        sender.close()


@pytest.mark.parametrize("kind", KINDS)
def test_success_reply_is_delivered_in_one_request(kind: str, receiver: Receiver) -> None:
    outcome = outcome_of(kind, receiver, CASES[kind].ok)
    assert isinstance(outcome, Delivered)
    (request,) = receiver.wait_for(1)
    assert request.method == CASES[kind].method


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413])
def test_client_errors_are_permanent(kind: str, status: int, receiver: Receiver) -> None:
    outcome = outcome_of(kind, receiver, Reply(status, "nope"))
    assert outcome == Permanent(f"HTTP {status}: nope")
    assert len(receiver.wait_for(1)) == 1  # a sender never retries by itself


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [408, 500, 502, 503])
def test_timeouts_and_server_errors_are_retried_with_backoff(
    kind: str, status: int, receiver: Receiver
) -> None:
    outcome = outcome_of(kind, receiver, Reply(status, "busy"))
    assert outcome == Retry(f"HTTP {status}: busy", None)


def _http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


RATE_LIMITS: dict[str, tuple[Callable[[], Reply], float, float]] = {
    # style: (reply, lowest acceptable wait, highest acceptable wait)
    "retry-after-seconds": (lambda: Reply(429, "slow", {"Retry-After": "7"}), 7, 7),
    "retry-after-http-date": (
        lambda: Reply(429, "slow", {"Retry-After": _http_date(120)}),
        100,
        121,
    ),
    "body-retry-after": (lambda: Reply(429, '{"retry_after": 2.5, "global": false}'), 2.5, 2.5),
    "body-retry-after-ms": (
        lambda: Reply(429, '{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500}'),
        1.5,
        1.5,
    ),
    "x-reset-epoch": (
        lambda: Reply(429, "", {"X-Ratelimit-Reset": str(int(time.time()) + 30)}),
        20,
        31,
    ),
    "x-reset-latest-wins": (
        lambda: Reply(
            429,
            "",
            {
                "X-Ratelimit-Reset": str(int(time.time()) + 10),
                "X-FloodControl-Reset": str(int(time.time()) + 60),
            },
        ),
        50,
        61,
    ),
    "x-reset-after": (lambda: Reply(429, "", {"X-RateLimit-Reset-After": "3.25"}), 3.25, 3.25),
    "none": (lambda: Reply(429, "RESOURCE_EXHAUSTED"), -1, -1),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("style", sorted(RATE_LIMITS))
def test_rate_limits_are_retried_after_the_wait_the_service_asked_for(
    kind: str, style: str, receiver: Receiver
) -> None:
    reply, low, high = RATE_LIMITS[style]
    outcome = outcome_of(kind, receiver, reply())
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("HTTP 429")
    if low < 0:
        assert outcome.after is None  # no hint: the dispatcher's backoff decides
    else:
        assert outcome.after is not None
        assert low <= outcome.after <= high


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_service_times_out_as_retry(kind: str, receiver: Receiver) -> None:
    outcome = outcome_of(kind, receiver, Reply(delay=0.6), timeout=0.15)
    assert outcome == Retry("timed out")


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_is_retried(kind: str) -> None:
    sender = sender_for(kind, closed_port_url())
    try:
        outcome = sender.send(note())
    finally:
        sender.close()
    assert isinstance(outcome, Retry)
    assert "refused" in outcome.reason.lower()
    assert SECRET not in outcome.reason


@pytest.mark.parametrize("kind", KINDS)
def test_preview_is_the_request_that_is_sent(kind: str, receiver: Receiver) -> None:
    receiver.reply(CASES[kind].ok)
    sender = sender_for(kind, receiver.url)
    preview = sender.preview(note(title="Disk", color="red", notify=True))
    request = send_one(sender, receiver, note(title="Disk", color="red", notify=True))
    assert preview["method"] == request.method
    if "json" in preview:
        assert preview["json"] == request.json()
    elif "form" in preview:
        from urllib.parse import parse_qsl  # noqa: PLC0415 - only the form senders need it

        assert preview["form"] == dict(parse_qsl(request.text))
    else:
        assert preview["data"] == request.text
    for key, value in preview["headers"].items():
        if "***" not in value:
            assert request.headers[key] == value


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_never_reach_outcomes_or_previews(kind: str, receiver: Receiver) -> None:
    """A failing service may echo the token or URL back: the outcome must still not show it."""
    echo = f"invalid token {SECRET} for {receiver.url}/hooks/{SECRET}"
    replies = [
        Reply(401, echo),
        Reply(500, json.dumps({"error": {"message": echo}})),
        Reply(429, json.dumps({"message": echo, "retry_after": 1})),
        Reply(200, json.dumps({"success": False, "error": echo})),
        Reply(delay=0.6),
    ]
    sender = sender_for(kind, receiver.url, timeout=0.15)
    refused = sender_for(kind, closed_port_url())
    try:
        seen: list[str] = []
        for reply in replies:
            receiver.reply(reply)
            outcome = sender.send(note())
            seen.append(repr(outcome))
        seen.append(repr(refused.send(note())))
        seen.append(json.dumps(sender.preview(note()), ensure_ascii=False))
    finally:
        sender.close()
        refused.close()
    for text in seen:
        assert SECRET not in text, text
    assert "***" in seen[0]  # it was there, and it was masked


@pytest.mark.parametrize("kind", KINDS)
def test_default_rate_is_the_services_pacing(kind: str) -> None:
    sender = sender_for(kind, "http://127.0.0.1:9")
    assert sender.default_rate is None or 0 < sender.default_rate <= 10
