"""Teams Workflows webhook: the Adaptive Card envelope, colour names, byte limit."""

from __future__ import annotations

import json

import pytest

from ruleengine.model import Delivered
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, send_one

URL = "https://prod.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc"


def test_payload_is_exactly_the_workflows_adaptive_card(receiver: Receiver) -> None:
    receiver.reply(Reply(202, ""))
    sender = make("teams", webhook_url=receiver.url + "/workflows/1/invoke?sig=abc")
    request = send_one(sender, receiver, note("web1 disk 97%", color="red"))
    assert request.path == "/workflows/1/invoke?sig=abc"
    assert request.json() == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "web1 disk 97%",
                            "wrap": True,
                            "color": "Attention",
                        }
                    ],
                },
            }
        ],
    }


def test_title_is_a_bold_text_block_above_the_text() -> None:
    body = make("teams", webhook_url=URL).preview(note("text", title="Title", color="green"))
    blocks = body["json"]["attachments"][0]["content"]["body"]
    assert blocks[0] == {
        "type": "TextBlock",
        "text": "Title",
        "wrap": True,
        "weight": "Bolder",
        "size": "Medium",
        "color": "Good",
    }
    assert blocks[1]["text"] == "text"


@pytest.mark.parametrize(
    ("color", "name"),
    [
        ("yellow", "Warning"),
        ("green", "Good"),
        ("red", "Attention"),
        ("purple", "Accent"),
        ("gray", "Default"),
        ("#ff0000", "Attention"),  # hex snaps to the nearest palette colour
        ("#00ff80", "Good"),
        ("#ffd700", "Warning"),
    ],
)
def test_palette_maps_to_adaptive_card_colour_names(color: str, name: str) -> None:
    body = make("teams", webhook_url=URL).preview(note(color=color))["json"]
    assert body["attachments"][0]["content"]["body"][0]["color"] == name


def test_random_maps_to_a_card_colour_name() -> None:
    body = make("teams", webhook_url=URL).preview(note(color="random"))["json"]
    color = body["attachments"][0]["content"]["body"][0]["color"]
    assert color in {"Warning", "Good", "Attention", "Accent", "Default"}


def test_long_text_keeps_the_card_under_28_kb() -> None:
    body = make("teams", webhook_url=URL).preview(note("é" * 40_000, title="t" * 1000))["json"]
    assert len(json.dumps(body, ensure_ascii=False).encode()) < 28_000
    assert body["attachments"][0]["content"]["body"][1]["text"].endswith(TRUNCATED)


@pytest.mark.parametrize("status", [200, 202])
def test_accepted_and_ok_are_delivered(status: int, receiver: Receiver) -> None:
    receiver.reply(Reply(status, ""))
    sender = make("teams", webhook_url=receiver.url + "/x?sig=abc")
    assert sender.send(note()) == Delivered(f"HTTP {status}")
    sender.close()
