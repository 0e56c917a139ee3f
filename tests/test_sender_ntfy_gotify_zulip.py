"""ntfy, Gotify and Zulip: the services without colours, where notify becomes priority."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import pytest

from ruleengine.model import Permanent
from ruleengine.senders import Sender
from ruleengine.senders.common import TRUNCATED
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, send_one

TOKEN = "tk_abcdefgh12345678"  # noqa: S105 - fake


def test_ntfy_publishes_json_to_the_server_root(receiver: Receiver) -> None:
    sender = make("ntfy", url=receiver.url, topic="server-alerts", token=TOKEN, markdown=True)
    request = send_one(sender, receiver, note("web1 déjà down", title="Ünicode", color="red"))
    assert (request.method, request.path) == ("POST", "/")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "topic": "server-alerts",
        "message": "web1 déjà down",
        "title": "Ünicode",
        "priority": 2,
        "tags": ["red_circle"],
        "markdown": True,
    }


@pytest.mark.parametrize(("notify", "priority"), [(True, 4), (False, 2)])
def test_ntfy_notify_is_priority(notify: bool, priority: int) -> None:
    preview = make("ntfy", topic="t").preview(note(notify=notify))
    assert preview["json"]["priority"] == priority
    assert preview["url"] == "https://ntfy.sh/"


def test_ntfy_basic_auth_and_byte_limit() -> None:
    sender = make("ntfy", topic="t", username="u", password="p4ssword")  # noqa: S106 - fake
    preview = sender.preview(note("ü" * 5000))
    assert preview["headers"] == {"Authorization": "Basic ***"}
    assert len(preview["json"]["message"].encode()) <= 4096
    assert preview["json"]["message"].endswith(TRUNCATED)


def test_ntfy_topic_must_be_a_topic_name() -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    from tests.support.senders import settings_for  # noqa: PLC0415

    with pytest.raises(ValidationError, match="expected a topic name"):
        settings_for("ntfy", topic="has spaces/and slashes")


def test_gotify_message_with_key_header(receiver: Receiver) -> None:
    sender = make("gotify", url=receiver.url + "/gotify/", token=TOKEN)
    request = send_one(sender, receiver, note("backup done", color="green", notify=True))
    assert (request.method, request.path) == ("POST", "/gotify/message")
    assert request.headers["X-Gotify-Key"] == TOKEN
    assert request.json() == {"title": "disk-full", "message": "backup done", "priority": 8}


def test_gotify_silent_priority_and_masked_preview() -> None:
    sender = make("gotify", url="https://push.example.org", token=TOKEN, priority_silent=0)
    preview = sender.preview(note(title="T"))
    assert preview["json"]["priority"] == 0
    assert preview["json"]["title"] == "T"
    assert preview["headers"] == {"X-Gotify-Key": "***"}


def _zulip(url: str, **extra: object) -> Sender:
    return make("zulip", url=url, email="bot@example.org", api_key=TOKEN, stream="ops", **extra)


def test_zulip_posts_a_form_with_basic_auth(receiver: Receiver) -> None:
    receiver.reply(Reply(200, '{"result": "success", "id": 1}'))
    sender = _zulip(receiver.url)
    request = send_one(sender, receiver, note("web1 down", title="Outage"))
    assert (request.method, request.path) == ("POST", "/api/v1/messages")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    scheme, _, pair = request.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(pair).decode()) == ("Basic", f"bot@example.org:{TOKEN}")
    assert dict(parse_qsl(request.text)) == {
        "type": "stream",
        "to": "ops",
        "topic": "Outage",
        "content": "web1 down",
    }


def test_zulip_fixed_topic_keeps_the_title_in_the_content_and_limits_apply() -> None:
    sender = _zulip("https://zulip.example.org", topic="alerts", emoji=True)
    form = sender.preview(note("x" * 20_000, title="Disk", color="yellow"))["form"]
    assert form["topic"] == "alerts"
    assert form["content"].startswith("\U0001f7e1 **Disk**\nxxx")
    assert len(form["content"]) == 10_000
    assert form["content"].endswith(TRUNCATED)
    long_topic = _zulip("https://z.example.org").preview(note(title="t" * 100))["form"]["topic"]
    assert len(long_topic) == 60


def test_zulip_error_result_is_permanent_with_its_message(receiver: Receiver) -> None:
    receiver.reply(
        Reply(
            400,
            '{"result": "error", "msg": "Stream \'ops\' does not exist", '
            '"code": "STREAM_DOES_NOT_EXIST"}',
        )
    )
    sender = _zulip(receiver.url)
    outcome = sender.send(note())
    sender.close()
    assert outcome == Permanent("HTTP 400: STREAM_DOES_NOT_EXIST: Stream 'ops' does not exist")


def test_zulip_form_survives_undecodable_log_bytes(receiver: Receiver) -> None:
    receiver.reply(Reply(200, '{"result": "success"}'))
    request = send_one(_zulip(receiver.url), receiver, note("bad \udcff byte", title="t\udcff"))
    form = dict(parse_qsl(request.text))
    assert (form["content"], form["topic"]) == ("bad ? byte", "t?")
