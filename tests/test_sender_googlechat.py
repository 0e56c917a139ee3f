"""Google Chat webhooks: text only, requestId from the notification id, threads, byte limit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ruleengine.model import Retry
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note

URL = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_text_message_with_request_id_kept_across_retries(receiver: Receiver) -> None:
    receiver.reply(Reply(503, "unavailable"), Reply(200, '{"name": "spaces/AAA/messages/1"}'))
    sender = make("googlechat", webhook_url=receiver.url + "/v1/spaces/AAA/messages?key=k&token=t")
    first = sender.send(note("web1 disk 97%", title="Disk", color="red", notify=True))
    sender.send(note("web1 disk 97%", title="Disk", color="red", notify=True))
    sender.close()
    assert isinstance(first, Retry)
    one, two = receiver.wait_for(2)
    assert one.json() == two.json()
    (card,) = one.json()["cardsV2"]
    assert card["card"]["header"] == {"title": "Disk"}
    (widget,) = card["card"]["sections"][0]["widgets"]
    assert widget["textParagraph"]["text"].endswith(" web1 disk 97%")
    assert urlsplit(one.path).path == "/v1/spaces/AAA/messages"
    query = _query(one.path)
    assert query == {"key": ["k"], "token": ["t"], "requestId": [note().id]}
    assert _query(two.path) == query  # the same key: Google returns the first message


def test_thread_key_posts_into_a_thread() -> None:
    preview = make("googlechat", webhook_url=URL, thread_key="disk-alerts").preview(note())
    assert preview["json"]["thread"] == {"threadKey": "disk-alerts"}
    assert preview["added_query"] == {"requestId": note().id}


def test_thread_key_sets_the_reply_option(receiver: Receiver) -> None:
    sender = make("googlechat", webhook_url=receiver.url + "/m?key=k", thread_key="t1")
    sender.send(note())
    sender.close()
    (request,) = receiver.wait_for(1)
    assert _query(request.path)["messageReplyOption"] == ["REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"]


def test_emoji_option_shows_the_colour() -> None:
    sender = make("googlechat", webhook_url=URL, emoji=True)
    assert sender.preview(note("down", color="red"))["json"]["text"] == "\U0001f534 down"
    assert make("googlechat", webhook_url=URL).preview(note("down"))["json"]["text"] == "down"


def test_long_text_is_cut_to_32000_bytes_without_splitting_characters() -> None:
    text = make("googlechat", webhook_url=URL).preview(note("€" * 20_000))["json"]["text"]
    assert len(text.encode()) <= 32_000
    assert text.endswith(TRUNCATED)
    assert "\ufffd" not in text
