"""Matrix: PUT with an idempotent txnId, notice vs text, coloured and escaped HTML."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ruleengine.model import Permanent, Retry
from ruleengine.senders import Sender
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, settings_for

TOKEN = "syt_token"  # noqa: S105 - fake


def _matrix(url: str) -> Sender:
    return make("matrix", homeserver=url + "/", room_id="!abc:example.org", token=TOKEN)


def test_put_with_txn_id_from_the_notification_and_bearer_token(receiver: Receiver) -> None:
    receiver.reply(Reply(502, "bad gateway"), Reply(200, '{"event_id": "$e1"}'))
    sender = _matrix(receiver.url)
    first = sender.send(note("web1 disk 97%"))
    sender.send(note("web1 disk 97%"))
    sender.close()
    assert isinstance(first, Retry)
    one, two = receiver.wait_for(2)
    assert one.method == "PUT"
    assert one.path == (
        f"/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/re-{note().id}"
    )
    assert two.path == one.path  # the retry reuses the txnId: the server de-duplicates it
    assert one.headers["Authorization"] == "Bearer syt_token"
    assert one.json() == {
        "msgtype": "m.notice",
        "body": "web1 disk 97%",
        "format": "org.matrix.custom.html",
        "formatted_body": '<span data-mx-color="#9e9e9e">web1 disk 97%</span>',
        "m.mentions": {},
    }


def test_different_notifications_get_different_txn_ids() -> None:
    sender = _matrix("https://matrix.example.org")
    a = sender.preview(note(id="a" * 32))["url"]
    b = sender.preview(note(id="b" * 32))["url"]
    assert a != b
    assert a.endswith("/re-" + "a" * 32)


def test_notify_sends_m_text_and_silent_sends_m_notice() -> None:
    sender = _matrix("https://matrix.example.org")
    assert sender.preview(note(notify=True))["json"]["msgtype"] == "m.text"
    assert sender.preview(note(notify=False))["json"]["msgtype"] == "m.notice"


def test_html_is_escaped_and_coloured() -> None:
    text = '<script>alert("x")</script> & co\nline 2'
    content = _matrix("https://m.example.org").preview(
        note(text, title="<b>T</b>", color="#00FF00")
    )["json"]
    assert content["body"] == "<b>T</b>\n" + text
    assert content["formatted_body"] == (
        '<span data-mx-color="#00ff00"><b>&lt;b&gt;T&lt;/b&gt;</b><br>'
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co<br>line 2</span>"
    )


def test_long_text_keeps_the_event_under_64_kib_even_when_escaping_grows_it() -> None:
    content = _matrix("https://m.example.org").preview(note('"' * 70_000))["json"]
    assert len(json.dumps(content, ensure_ascii=False).encode()) <= 60_000
    assert content["body"].endswith(TRUNCATED)
    assert content["formatted_body"].endswith(TRUNCATED + "</span>")


def test_errcode_is_the_permanent_reason(receiver: Receiver) -> None:
    receiver.reply(Reply(403, '{"errcode": "M_FORBIDDEN", "error": "not in room"}'))
    sender = _matrix(receiver.url)
    assert sender.send(note()) == Permanent("HTTP 403: M_FORBIDDEN: not in room")
    sender.close()


def test_preview_shows_the_room_but_masks_the_token() -> None:
    preview = _matrix("https://m.example.org").preview(note())
    assert preview["url"].startswith("https://m.example.org/_matrix/client/v3/rooms/%21abc")
    assert preview["headers"] == {"Authorization": "Bearer ***"}


@pytest.mark.parametrize("room", ["#ops:example.org", "ops", ""])
def test_room_aliases_and_names_are_rejected_with_a_hint(room: str) -> None:
    with pytest.raises(ValidationError, match="room id like"):
        settings_for("matrix", homeserver="https://m.example.org", room_id=room, token=TOKEN)
