"""The http source's pure parts: bodies to events, tokens, pace, idempotency key reuse."""

from __future__ import annotations

import json

import pytest

from ruleengine.rules.patterns import name_pattern
from ruleengine.sources.http.guard import Clients, Pace
from ruleengine.sources.http.parse import Limits, Rejected, parse_events

WIDE = Limits(max_events=10, max_fields=100, max_depth=2000)


def test_deep_nesting_that_json_cannot_parse_is_malformed_not_a_crash() -> None:
    with pytest.raises(Rejected) as caught:
        parse_events(b"[" * 200_000 + b"]" * 200_000, "application/json", WIDE)
    assert caught.value.status == 400


def test_plain_fields_data_and_type() -> None:
    (event,) = parse_events(
        json.dumps({"type": "a.b", "host": "h", "data": 1}).encode(),
        "application/json; charset=utf-8",
        WIDE,
    )
    assert event.type == "a.b"
    assert event.fields["host"] == "h"
    assert event.fields["data"] == {"type": "a.b", "host": "h", "data": 1}  # like a marker's
    assert event.cloud_key is None


def test_a_cloudevent_data_object_becomes_fields_attributes_stay_under_ce() -> None:
    body = {
        "specversion": "1.0",
        "id": "x",
        "source": "/s",
        "type": "t",
        "time": "2026-01-01T00:00:00Z",
        "data": {"host": "h", "type": "not-the-type"},
    }
    (event,) = parse_events(json.dumps(body).encode(), "application/cloudevents+json", WIDE)
    assert event.fields["type"] == "t"  # the envelope's type wins over a data key
    assert event.fields["host"] == "h"
    assert event.fields["ce"]["time"] == "2026-01-01T00:00:00Z"
    assert "time" not in event.fields  # ``time`` stays the event's receive time
    assert event.cloud_key == ("/s", "x")


def test_accept_types_use_the_rule_name_patterns() -> None:
    limits = Limits(accept_types=(name_pattern("backup.*"), name_pattern("^job\\.(ok|failed)$")))
    assert parse_events(b'{"type": "backup.done"}', "application/json", limits)
    assert parse_events(b'{"type": "job.ok"}', "application/json", limits)
    with pytest.raises(Rejected) as caught:
        parse_events(b'{"type": "job.okay"}', "application/json", limits)
    assert caught.value.body["error"] == "unknown_type"


def test_tokens() -> None:
    clients = Clients({"a": "token-a-0123456789", "b": "token-b-0123456789"}, anonymous=False)
    assert clients.identify("Bearer token-b-0123456789") == "b"
    assert clients.identify("bearer   token-a-0123456789") == "a"
    for bad in (None, "", "Bearer", "Bearer token-a", "token-a-0123456789", "Bearer \udcff"):
        with pytest.raises(Rejected):
            clients.identify(bad)
    assert Clients({}, anonymous=True).identify(None) == "anonymous"


def test_pace_refills_at_its_rate() -> None:
    now = [0.0]
    pace = Pace(rate=2.0, burst=2, clock=lambda: now[0])
    pace.take("a")
    pace.take("a")
    with pytest.raises(Rejected) as caught:
        pace.take("a")
    assert dict(caught.value.headers)["Retry-After"] == "1"
    pace.take("b")  # another client has its own bucket
    now[0] = 0.5
    pace.take("a")  # one token back after 1/rate seconds
