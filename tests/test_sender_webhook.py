"""Generic webhook: default document, Jinja body templates, custom headers and methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.config import load_config
from ruleengine.errors import ConfigError
from ruleengine.model import Permanent
from tests.support.receiver import Receiver
from tests.support.senders import make, note, send_one

ALERTMANAGER_LIKE = """{"version": "4", "status": "firing",
 "alerts": [{"labels": {"alertname": {{ rule | tojson }}, "severity": {{ color | tojson }}},
             "annotations": {"summary": {{ text | tojson }}}, "fingerprint": {{ id | tojson }}}]}"""


def test_default_body_describes_the_notification(receiver: Receiver) -> None:
    sender = make("webhook", url=receiver.url + "/in")
    request = send_one(sender, receiver, note("x", title="T", color="random", fields={"a": 1}))
    body = request.json()
    assert body["text"] == "x"
    assert body["title"] == "T"
    assert body["color"] == "random"
    assert body["color_hex"].startswith("#")
    assert body["fields"] == {"a": 1}
    assert request.headers["Idempotency-Key"] == note().id


def test_body_template_renders_json_with_custom_headers_and_method(receiver: Receiver) -> None:
    sender = make(
        "webhook",
        url=receiver.url + "/api/v2/alerts",
        method="PUT",
        headers={"Authorization": "Bearer abcdefgh", "X-Team": "ops"},
        body=ALERTMANAGER_LIKE,
    )
    tricky = 'quote " backslash \\ newline\n{{ 7*7 }}'
    request = send_one(sender, receiver, note(tricky, color="red"))
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer abcdefgh"
    assert request.headers["X-Team"] == "ops"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "labels": {"alertname": "disk-full", "severity": "red"},
                "annotations": {"summary": tricky},  # event data stays data
                "fingerprint": note().id,
            }
        ],
    }


def test_preview_masks_configured_headers_only() -> None:
    sender = make(
        "webhook",
        url="https://example.org/hook",
        headers={"Authorization": "Bearer abcdefgh", "X-Api-Key": "k3y-k3y-k3y"},
        body='{"t": {{ text | tojson }}}',
    )
    preview = sender.preview(note())
    assert preview["headers"]["Authorization"] == "Bearer ***"
    assert preview["headers"]["X-Api-Key"] == "***"
    assert preview["headers"]["Content-Type"] == "application/json"
    assert json.loads(preview["data"]) == {"t": "disk full on web1"}


def test_a_template_that_does_not_make_json_is_permanent_and_sends_nothing(
    receiver: Receiver,
) -> None:
    sender = make("webhook", url=receiver.url, body='{"text": {{ text }}}')  # forgot tojson
    outcome = sender.send(note())
    sender.close()
    assert isinstance(outcome, Permanent)
    assert "did not produce JSON" in outcome.reason
    assert "tojson" in outcome.reason
    assert receiver.requests == []
    assert "did not produce JSON" in sender.preview(note())["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"x": "{{ missing }}"}', "'missing' is undefined"),
        ('{"x": {{ missing | tojson }}}', "an undefined variable; known: id, rule"),
        ("{{ ''.__class__.__mro__ }}", "SecurityError"),
    ],
)
def test_template_failures_are_permanent(body: str, reason: str, receiver: Receiver) -> None:
    sender = make("webhook", url=receiver.url, body=body)
    outcome = sender.send(note())
    sender.close()
    assert isinstance(outcome, Permanent)
    assert reason in outcome.reason


def test_non_json_content_type_sends_the_rendered_text(receiver: Receiver) -> None:
    sender = make(
        "webhook", url=receiver.url, body="ALERT {{ text }} ünï", content_type="text/plain"
    )
    request = send_one(sender, receiver, note())
    assert request.text == "ALERT disk full on web1 ünï"
    assert request.headers["Content-Type"] == "text/plain"


def test_template_syntax_errors_are_reported_by_check(write_rules) -> None:  # type: ignore[no-untyped-def]
    path: Path = write_rules(
        "state_dir: state\n"
        "destinations:\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: https://example.org/x\n"
        "    body: '{\"t\": {{ text | tojson }'\n"
        "sources: {}\n"
        "rules: []\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:6: destinations.hook.body: template syntax error" in str(caught.value)
