"""Slack, Mattermost and Rocket.Chat webhooks: payload, colour bar, mention on notify, limits."""

from __future__ import annotations

import pytest

from ruleengine.model import Delivered, Permanent
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, send_one


def test_slack_payload_is_a_coloured_attachment(receiver: Receiver) -> None:
    sender = make("slack", webhook_url=receiver.url + "/services/T0/B0/xyz")
    request = send_one(sender, receiver, note("web1 disk 97%", title="Disk", color="red"))
    assert request.path == "/services/T0/B0/xyz"
    assert request.json() == {
        "attachments": [
            {
                "color": "#d00000",
                "title": "Disk",
                "text": "web1 disk 97%",
                "fallback": "Disk: web1 disk 97%",
            }
        ]
    }


@pytest.mark.parametrize(
    ("color", "bar"),
    [
        ("yellow", "#e8b600"),
        ("green", "#2eb886"),
        ("purple", "#8e44ad"),
        ("gray", "#9e9e9e"),
        ("#ABCDEF", "#abcdef"),
    ],
)
def test_palette_maps_to_the_hex_side_bar(color: str, bar: str) -> None:
    sender = make("slack", webhook_url="https://hooks.slack.com/services/T/B/x")
    assert sender.preview(note(color=color))["json"]["attachments"][0]["color"] == bar


def test_random_is_a_stable_palette_colour_per_notification() -> None:
    sender = make("slack", webhook_url="https://hooks.slack.com/services/T/B/x")
    first = sender.preview(note(color="random"))["json"]["attachments"][0]["color"]
    again = sender.preview(note(color="random"))["json"]["attachments"][0]["color"]
    assert first == again
    assert first in {"#e8b600", "#2eb886", "#d00000", "#8e44ad", "#9e9e9e"}


@pytest.mark.parametrize(
    ("kind", "mention"), [("slack", "<!here>"), ("mattermost", "@here"), ("rocketchat", "@here")]
)
def test_notify_pings_with_a_top_level_mention(kind: str, mention: str) -> None:
    sender = make(kind, webhook_url="https://chat.example.org/hooks/abc")
    assert sender.preview(note(notify=True))["json"]["text"] == mention
    assert "text" not in sender.preview(note(notify=False))["json"]


def test_the_mention_can_be_changed_or_switched_off() -> None:
    url = "https://hooks.slack.com/services/T/B/x"
    assert (
        make("slack", webhook_url=url, notify_mention="<!channel>").preview(note(notify=True))[
            "json"
        ]["text"]
        == "<!channel>"
    )
    assert (
        "text"
        not in make("slack", webhook_url=url, notify_mention="").preview(note(notify=True))["json"]
    )


@pytest.mark.parametrize(
    ("kind", "limit"), [("slack", 40_000), ("mattermost", 16_383), ("rocketchat", 5_000)]
)
def test_long_text_is_truncated_to_the_service_limit_with_a_marker(
    kind: str, limit: int, receiver: Receiver
) -> None:
    receiver.reply(Reply(200, '{"success": true}' if kind == "rocketchat" else "ok"))
    sender = make(kind, webhook_url=receiver.url + "/hooks/abc")
    attachment = send_one(sender, receiver, note("x" * (limit * 2))).json()["attachments"][0]
    assert len(attachment["text"]) == limit
    assert attachment["text"].endswith(TRUNCATED)
    assert len(attachment["fallback"]) <= 300


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (400, "no_text"),
        (403, "invalid_token"),
        (404, "channel_not_found"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
def test_slack_body_error_strings_are_permanent(status: int, body: str, receiver: Receiver) -> None:
    receiver.reply(Reply(status, body))
    sender = make("slack", webhook_url=receiver.url + "/services/T/B/x")
    assert sender.send(note()) == Permanent(f"HTTP {status}: {body}")
    sender.close()


def test_rocketchat_success_false_is_permanent_even_with_200(receiver: Receiver) -> None:
    receiver.reply(Reply(200, '{"success": false, "error": "invalid-channel"}'))
    sender = make("rocketchat", webhook_url=receiver.url + "/hooks/a/b")
    assert sender.send(note()) == Permanent("HTTP 200: invalid-channel")
    receiver.reply(Reply(200, '{"success": true}'))
    assert sender.send(note()) == Delivered("HTTP 200")
    sender.close()


def test_rates_follow_each_service() -> None:
    url = "https://chat.example.org/hooks/x"
    assert make("slack", webhook_url=url).default_rate == 1.0
    assert make("mattermost", webhook_url=url).default_rate == 10.0
    assert make("rocketchat", webhook_url=url).default_rate == 1.0
