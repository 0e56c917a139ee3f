"""The receiver fixture itself: later sender tests rely on its scripting being exact."""

from __future__ import annotations

import pytest
import requests

from tests.support import daemon_outputs
from tests.support.receiver import Receiver, Reply


def test_records_requests_and_follows_the_script(receiver: Receiver) -> None:
    receiver.reply(Reply(status=429, headers={"Retry-After": "3"}, body="slow down"))
    first = requests.post(receiver.url + "/hook", json={"a": 1}, timeout=5)
    second = requests.put(receiver.url + "/other", data=b"raw", timeout=5)
    assert (first.status_code, first.headers["Retry-After"], first.text) == (429, "3", "slow down")
    assert (second.status_code, second.text) == (200, "ok")
    got = receiver.wait_for(2)
    assert [(r.method, r.path) for r in got] == [("POST", "/hook"), ("PUT", "/other")]
    assert got[0].json() == {"a": 1}
    assert got[1].body == b"raw"


def test_delay_makes_a_client_time_out(receiver: Receiver) -> None:
    receiver.reply(Reply(delay=0.5))
    with pytest.raises(requests.Timeout):
        requests.post(receiver.url, json={}, timeout=0.1)
    receiver.wait_for(1)


def test_wait_for_fails_when_nothing_arrives(receiver: Receiver) -> None:
    with pytest.raises(AssertionError, match="expected 1 requests"):
        receiver.wait_for(1, timeout=0.2)


def test_each_request_records_the_reply_it_got(receiver: Receiver) -> None:
    replies = iter([Reply(status=500), Reply(status=429, headers={"Retry-After": "1"})])
    receiver.responder = lambda: next(replies)
    statuses = [requests.post(receiver.url, json={}, timeout=5).status_code for _ in range(2)]
    assert statuses == [r.reply.status for r in receiver.wait_for(2)] == [500, 429]


def test_the_suite_wide_secret_check_sees_an_unmasked_url() -> None:
    """The session-end check over all daemon logs (tests/support/daemon_outputs.py) can fail."""
    logs = [
        ("t1", "2026-11-27 10:00:00,000 WARNING x: HTTP 500 from http://127.0.0.1:8080/***"),
        ("t2", "12:00:00 [rule] RED: see https://example.com/docs (a message, not a log)"),
        ("t3", '{"time": 1, "level": "error", "message": "POST https://h/hooks/T0/B0/xyz"}'),
        ("t4", "2026-11-27 10:00:00,000 INFO x: https://hooks.slack.com/services/T0/B0/abc"),
    ]
    assert daemon_outputs.leaks(logs) == [
        't3: {"time": 1, "level": "error", "message": "POST https://h/hooks/T0/B0/xyz"}',
        "t4: 2026-11-27 10:00:00,000 INFO x: https://hooks.slack.com/services/T0/B0/abc",
    ]
