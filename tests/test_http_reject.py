"""Every refusal of the http source: a clear 4xx JSON error, and nothing stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from ruleengine.sources.http import counts
from tests.support.intakekit import TOKENS, Intake, running_intake
from tests.support.outbox import outbox

LIMITS = """\
max_body: 2048
max_events: 3
max_fields: 6
max_depth: 3
accept_types: ["server.*", "^update\\\\.\\\\w+$"]
rate: 0.01
burst: 40
"""

deep = {"type": "server.x", "a": {"b": {"c": 1}}}
EVENT = {"type": "server.rebooted", "host": "h"}
# (what, request keyword arguments, status, error code)
CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no token", {"body": EVENT, "client": None}, 401, "unauthorized"),
    ("not JSON", {"body": None, "raw": b"{type: nope"}, 400, "malformed_json"),
    ("NaN", {"body": None, "raw": b'{"type": "server.x", "n": NaN}'}, 400, "malformed_json"),
    ("bad UTF-8", {"body": None, "raw": b'{"type": "server.\xff"}'}, 400, "malformed_json"),
    ("huge body", {"body": None, "raw": b"[" * 100_000}, 413, "body_too_large"),
    ("nested arrays", {"body": None, "raw": b"[" * 20 + b"]" * 20}, 422, "invalid_event"),
    ("form", {"body": EVENT, "content_type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
    ("big body", {"body": {**EVENT, "pad": "x" * 3000}}, 413, "body_too_large"),
    ("many events", {"body": [EVENT] * 4}, 413, "too_many_events"),
    ("empty array", {"body": []}, 400, "invalid_event"),
    ("not an object", {"body": ["server.rebooted"]}, 422, "invalid_event"),
    ("no type", {"body": {"host": "h"}}, 422, "invalid_event"),
    ("type not text", {"body": {"type": 7}}, 422, "invalid_event"),
    ("control char in type", {"body": {"type": "server.\n"}}, 422, "invalid_event"),
    ("unknown type", {"body": {"type": "backup.done"}}, 422, "unknown_type"),
    ("many fields", {"body": {**EVENT, "l": [1, 2, 3, 4, 5]}}, 422, "too_many_fields"),
    ("deep", {"body": {**deep, "a": {"b": {"c": {"d": 1}}}}}, 422, "too_deep"),
    ("CE without id", {"body": {"specversion": "1.0", "source": "/s", "type": "server.x"},
                       "content_type": "application/cloudevents+json"}, 422, "invalid_event"),
    ("CE 0.3", {"body": {"specversion": "0.3", "id": "1", "source": "/s", "type": "server.x"},
                "content_type": "application/cloudevents+json"}, 422, "invalid_event"),
    ("CE batch not array", {"body": EVENT, "content_type": "application/cloudevents-batch+json"},
     400, "invalid_event"),
    ("long key", {"body": EVENT, "key": "k" * 201}, 400, "invalid_idempotency_key"),
]  # fmt: skip


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_intake(tmp_path_factory.mktemp("reject"), source=LIMITS) as running:
        yield running


@pytest.mark.parametrize(("what", "kwargs", "status", "error"), CASES, ids=[c[0] for c in CASES])
def test_refused_with_a_json_error(
    intake: Intake, what: str, kwargs: dict[str, Any], status: int, error: str
) -> None:
    answer = intake.post(**kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"] == error
    assert answer.json()["message"]
    assert outbox(intake.state) == []


def test_a_wrong_token_or_scheme_is_401_with_a_challenge(intake: Intake) -> None:
    for header in ("Bearer not-a-token-of-anyone", f"Basic {TOKENS['alice']}", "Bearer "):
        answer = requests.post(
            f"{intake.url}/v1/events",
            data=json.dumps(EVENT),
            headers={"Authorization": header, "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["error"] == "unauthorized"


def test_wrong_paths_and_methods(intake: Intake) -> None:
    assert requests.get(f"{intake.url}/v1/events", timeout=10).status_code == 405
    assert requests.post(f"{intake.url}/v2/events", timeout=10).status_code == 404
    assert requests.post(f"{intake.url}/healthz", timeout=10).status_code == 405


def test_nothing_was_stored_not_even_a_key(intake: Intake) -> None:
    conn = sqlite3.connect(intake.state / "state.db")
    try:  # only the figures `status` shows (how many were rejected)
        keys = conn.execute("SELECT key FROM positions").fetchall()
        assert keys in ([], [(counts.KEY,)])
    finally:
        conn.close()


def test_a_client_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    with running_intake(tmp_path, source="rate: 0.5\nburst: 2\n") as intake:
        codes = [intake.post(EVENT).status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        refused = intake.post(EVENT)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 2
        assert intake.post(EVENT, client="bob").status_code == 202  # a pace per client
        assert len(outbox(intake.state)) == 3
