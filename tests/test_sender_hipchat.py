"""HipChat API v2 room notifications: native colours, notify, Bearer token, flood-control waits."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from ruleengine.model import Delivered, Permanent, Retry
from ruleengine.senders import Sender
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, send_one, settings_for

TOKEN = "room-token-1234"  # noqa: S105 - fake


def _hipchat(url: str, **extra: object) -> Sender:
    return make("hipchat", url=url, room="Ops Room/1", token=TOKEN, **extra)


def test_room_notification_request(receiver: Receiver) -> None:
    receiver.reply(Reply(204, ""))
    sender = _hipchat(receiver.url, **{"from": "ruleengine"})
    request = send_one(sender, receiver, note("web1 rebooted", color="purple", notify=True))
    assert request.method == "POST"
    assert request.path == "/v2/room/Ops%20Room%2F1/notification"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "auth_token" not in request.path
    assert request.json() == {
        "message": "web1 rebooted",
        "color": "purple",
        "notify": True,
        "message_format": "text",
        "from": "ruleengine",
    }


@pytest.mark.parametrize(
    ("color", "native"),
    [
        ("yellow", "yellow"),
        ("green", "green"),
        ("red", "red"),
        ("purple", "purple"),
        ("gray", "gray"),
        ("random", "random"),  # HipChat picks it: the original tool's behaviour
        ("#ff1010", "red"),
        ("#30c090", "green"),
        ("#aaaaaa", "gray"),
    ],
)
def test_palette_maps_to_native_colour_names(color: str, native: str) -> None:
    assert (
        _hipchat("https://hipchat.example.com").preview(note(color=color))["json"]["color"]
        == native
    )


def test_notify_defaults_to_false() -> None:
    assert _hipchat("https://h.example.com").preview(note())["json"]["notify"] is False


def test_html_format_escapes_the_text() -> None:
    preview = _hipchat("https://h.example.com", message_format="html").preview(
        note("a < b & c\nnext", title="T")
    )
    assert preview["json"]["message"] == "<b>T</b><br>a &lt; b &amp; c<br>next"
    assert preview["json"]["message_format"] == "html"


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_message_is_cut_to_10000_characters(fmt: str) -> None:
    message = _hipchat("https://h.example.com", message_format=fmt).preview(note("&" * 20_000))[
        "json"
    ]["message"]
    assert len(message) <= 10_000
    assert message.endswith(TRUNCATED)


def test_from_longer_than_64_characters_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="at most 64"):
        settings_for("hipchat", room="1", token=TOKEN, **{"from": "x" * 65})


def test_flood_control_429_waits_until_the_later_reset(receiver: Receiver) -> None:
    now = int(time.time())
    receiver.reply(
        Reply(
            429,
            '{"error": {"code": 429, "message": "Rate limit exceeded", '
            '"type": "Too Many Requests"}}',
            {
                "X-Ratelimit-Limit": "500",
                "X-Ratelimit-Remaining": "100",
                "X-Ratelimit-Reset": str(now + 5),
                "X-FloodControl-Limit": "30",
                "X-FloodControl-Remaining": "0",
                "X-FloodControl-Reset": str(now + 40),
            },
        )
    )
    sender = _hipchat(receiver.url)
    outcome = sender.send(note())
    sender.close()
    assert isinstance(outcome, Retry)
    assert outcome.reason == "HTTP 429: Too Many Requests: Rate limit exceeded"
    assert outcome.after is not None
    assert 30 <= outcome.after <= 41


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (400, "Bad Request", "Message must be 10000 characters or less"),
        (401, "Unauthorized", "Invalid OAuth session"),
        (403, "Forbidden", "This room is archived"),
        (404, "Not Found", "Room not found"),
    ],
)
def test_errors_are_permanent_with_hipchats_reason(
    status: int, kind: str, message: str, receiver: Receiver
) -> None:
    receiver.reply(
        Reply(
            status, f'{{"error": {{"code": {status}, "message": "{message}", "type": "{kind}"}}}}'
        )
    )
    sender = _hipchat(receiver.url)
    assert sender.send(note()) == Permanent(f"HTTP {status}: {kind}: {message}")
    sender.close()


def test_204_is_success_and_rate_is_30_per_minute(receiver: Receiver) -> None:
    receiver.reply(Reply(204, ""))
    sender = _hipchat(receiver.url)
    assert sender.send(note()) == Delivered("HTTP 204")
    assert sender.default_rate == 0.5
    sender.close()
