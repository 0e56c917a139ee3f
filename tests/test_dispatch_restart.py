"""The real daemon, killed with SIGKILL in the middle of a retry, resumes where it stopped."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.daemon import sigkill, spawn, stop
from tests.support.outbox import rows_by_text
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply

RULES = """
state_dir: state
destinations:
  room: {{type: webhook, url: "{url}/hook-secret-4711", retry: {{backoff: 0.1s}}}}
sources:
  drops: {{type: markers, directory: markers, after: archive}}
rules:
  - name: rebooted
    source: drops
    file: '(?P<host>[^.]+)\\.rebooted\\.json'
    message: "{{{{ host }}}} rebooted"
    to: room
"""


@pytest.mark.slow
def test_sigkill_mid_retry_resumes_with_attempts_and_next_attempt(
    receiver: Receiver, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=receiver.url), encoding="utf-8")
    (tmp_path / "markers").mkdir()
    marker = tmp_path / "markers" / "web1.rebooted.json"
    marker.write_text(json.dumps({"updates": ["KB1"]}), encoding="utf-8")

    receiver.default = Reply(status=503, headers={"Retry-After": "3"})
    log = tmp_path / "daemon.log"
    first_run = spawn(rules, log=log, output=True)
    try:
        (first,) = receiver.wait_for(1, timeout=30)
        eventually(
            lambda: rows_by_text(tmp_path / "state").get("web1 rebooted", {}).get("attempts") == 1
        )
    finally:
        sigkill(first_run)
    saved = rows_by_text(tmp_path / "state")["web1 rebooted"]
    assert saved["state"] == "pending"
    assert saved["next_attempt"] >= first.time + 3.0 - 0.05  # Retry-After, not the 0.1s backoff
    assert "HTTP 503" in saved["last_error"]

    receiver.default = Reply()
    second_run = spawn(rules, log=log, output=True)
    try:
        _, second = receiver.wait_for(2, timeout=30)
        eventually(
            lambda: rows_by_text(tmp_path / "state")["web1 rebooted"]["state"] == "delivered"
        )
        time.sleep(0.3)  # a duplicate, if any, would arrive now
    finally:
        stop(second_run)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert second_run.returncode == 0, output
    assert second.time >= saved["next_attempt"] - 0.05
    assert rows_by_text(tmp_path / "state")["web1 rebooted"]["attempts"] == 2
    assert len(receiver.requests) == 2, "the marker was sent again after the restart"
    assert first.json()["id"] == second.json()["id"]
    assert "retrying in" in output  # the first run logged its retry...
    assert "hook-secret-4711" not in output  # ...without the webhook path, which is a secret
