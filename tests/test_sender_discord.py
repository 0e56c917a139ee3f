"""Discord webhooks: embed colour integer, silent flag, no mentions, body error codes."""

from __future__ import annotations

import pytest

from ruleengine.model import Permanent, Retry
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, send_one

URL = "https://discord.com/api/webhooks/123/token"


def test_payload_is_a_coloured_embed_that_pings_no_one(receiver: Receiver) -> None:
    receiver.reply(Reply(204, ""))
    sender = make("discord", webhook_url=receiver.url + "/api/webhooks/123/tok", username="ops")
    request = send_one(sender, receiver, note("web1 disk 97%", title="Disk", color="red"))
    assert request.path == "/api/webhooks/123/tok?wait=true"  # answered with the message id
    assert request.json() == {
        "embeds": [{"title": "Disk", "description": "web1 disk 97%", "color": 0xD00000}],
        "allowed_mentions": {"parse": []},
        "flags": 4096,
        "username": "ops",
    }


def test_notify_drops_the_suppress_notifications_flag() -> None:
    sender = make("discord", webhook_url=URL)
    assert sender.preview(note(notify=False))["json"]["flags"] == 4096
    assert "flags" not in sender.preview(note(notify=True))["json"]


@pytest.mark.parametrize(
    ("color", "value"),
    [
        ("yellow", 0xE8B600),
        ("green", 0x2EB886),
        ("purple", 0x8E44AD),
        ("gray", 0x9E9E9E),
        ("#123456", 0x123456),
    ],
)
def test_palette_maps_to_the_embed_integer(color: str, value: int) -> None:
    assert (
        make("discord", webhook_url=URL).preview(note(color=color))["json"]["embeds"][0]["color"]
        == value
    )


def test_long_text_and_title_are_truncated_to_embed_limits() -> None:
    embed = make("discord", webhook_url=URL).preview(note("y" * 9000, title="t" * 900))["json"][
        "embeds"
    ][0]
    assert len(embed["description"]) == 4096
    assert len(embed["title"]) == 256
    assert embed["description"].endswith(TRUNCATED)
    assert len(embed["description"]) + len(embed["title"]) <= 6000


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            400,
            '{"code": 50006, "message": "Cannot send an empty message"}',
            "HTTP 400: code 50006: Cannot send an empty message",
        ),
        (
            401,
            '{"code": 50027, "message": "Invalid Webhook Token"}',
            "HTTP 401: code 50027: Invalid Webhook Token",
        ),
        (
            404,
            '{"code": 10015, "message": "Unknown Webhook"}',
            "HTTP 404: code 10015: Unknown Webhook",
        ),
    ],
)
def test_error_codes_are_permanent_with_the_discord_reason(
    status: int, body: str, reason: str, receiver: Receiver
) -> None:
    receiver.reply(Reply(status, body))
    sender = make("discord", webhook_url=receiver.url + "/api/webhooks/1/t")
    assert sender.send(note()) == Permanent(reason)
    sender.close()


def test_429_body_retry_after_is_used_when_headers_are_absent(receiver: Receiver) -> None:
    receiver.reply(
        Reply(
            429, '{"message": "You are being rate limited.", "retry_after": 0.75, "global": true}'
        )
    )
    sender = make("discord", webhook_url=receiver.url + "/api/webhooks/1/t")
    outcome = sender.send(note())
    sender.close()
    assert isinstance(outcome, Retry)
    assert outcome.after == 0.75
