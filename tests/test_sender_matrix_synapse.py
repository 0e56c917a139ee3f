"""The matrix sender against a real homeserver: matrix-synapse with SQLite, as a subprocess.

Marked ``synapse``; skipped (with the reason) when Synapse is not installed in its own venv
(``.ci/run`` installs it). Covers what a fake server could only assume: delivery, m.notice vs
m.text, HTML formatted_body, txnId idempotency across a reply lost after the event was stored,
429 M_LIMIT_EXCEEDED with the wait Synapse asks for, and a resolved notice's reply and edit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ruleengine.model import Delivered, Original, Retry
from ruleengine.senders import Resolving, Sender
from tests.support.senders import make, note
from tests.support.synapse import DroppingProxy, Synapse, User, install_hint, synapse_python

pytestmark = pytest.mark.synapse


@dataclass
class Homeserver:
    server: Synapse
    admin: User  # exempt from rate limits: most tests send several messages in a row
    limited: User  # Synapse's default-style limits apply
    room: str


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    python = synapse_python()
    if python is None:
        pytest.skip(install_hint())
    server = Synapse(python, Path(tmp_path_factory.mktemp("synapse")))
    server.start()
    try:
        admin = server.register("ruleengine", admin=True)
        server.unlimited(admin, admin)
        limited = server.register("limited")
        room = server.create_room(admin)
        server.call(
            "POST",
            f"/_matrix/client/v3/rooms/{room}/invite",
            admin.token,
            json={"user_id": limited.user_id},
        )
        server.call("POST", f"/_matrix/client/v3/join/{room}", limited.token, json={})
        yield Homeserver(server, admin, limited, room)
    finally:
        server.stop()


def sender(hs: Homeserver, user: User | None = None, url: str | None = None) -> Sender:
    return make(
        "matrix",
        homeserver=url or hs.server.url,
        room_id=hs.room,
        token=(user or hs.admin).token,
        timeout=30,
    )


def events_with(hs: Homeserver, body_part: str) -> list[dict[str, object]]:
    return [
        e["content"]
        for e in hs.server.messages(hs.admin, hs.room)
        if body_part in str(e["content"].get("body", ""))
    ]


def test_notify_is_m_text_and_silent_is_m_notice(homeserver: Homeserver) -> None:
    matrix = sender(homeserver)
    try:
        assert isinstance(matrix.send(note("quiet one", id="a" * 32)), Delivered)
        assert isinstance(matrix.send(note("loud one", id="b" * 32, notify=True)), Delivered)
    finally:
        matrix.close()
    (quiet,) = events_with(homeserver, "quiet one")
    (loud,) = events_with(homeserver, "loud one")
    assert quiet["msgtype"] == "m.notice"
    assert loud["msgtype"] == "m.text"
    assert quiet["m.mentions"] == {}


def test_text_is_literal_html_and_markdown_is_rendered(homeserver: Homeserver) -> None:
    matrix = sender(homeserver)
    try:
        literal = note("lit **x** <b>y</b> @room", id="c" * 32, title="T <1>")
        marked = note("md **bold** [site](https://example.org)", id="d" * 32, format="markdown")
        assert isinstance(matrix.send(literal), Delivered)
        assert isinstance(matrix.send(marked), Delivered)
    finally:
        matrix.close()
    (shown,) = events_with(homeserver, "lit **x**")
    assert shown["body"] == "T <1>\nlit **x** <b>y</b> @room"
    assert shown["format"] == "org.matrix.custom.html"
    html = str(shown["formatted_body"])
    assert "<b>T &lt;1&gt;</b>" in html and "lit **x** &lt;b&gt;y&lt;/b&gt; @room" in html
    (rendered,) = events_with(homeserver, "md **bold**")
    html = str(rendered["formatted_body"])
    assert "<strong>bold</strong>" in html and '<a href="https://example.org">site</a>' in html


def test_a_reply_lost_after_the_event_was_stored_does_not_post_twice(
    homeserver: Homeserver,
) -> None:
    """The retry reuses the txnId, so Synapse returns the stored event instead of a new one."""
    proxy = DroppingProxy(homeserver.server.port)
    matrix = sender(homeserver, url=proxy.url)
    lost = note("lost reply", id="e" * 32)
    try:
        first = matrix.send(lost)
        assert isinstance(first, Retry), first
        assert proxy.dropped == 1
        assert len(events_with(homeserver, "lost reply")) == 1  # stored despite the lost reply
        proxy.drop = False
        assert isinstance(matrix.send(lost), Delivered)
    finally:
        matrix.close()
        proxy.close()
    assert len(events_with(homeserver, "lost reply")) == 1


def test_m_limit_exceeded_is_retried_after_the_wait_synapse_asks_for(
    homeserver: Homeserver,
) -> None:
    matrix = sender(homeserver, homeserver.limited)
    try:
        outcomes = [matrix.send(note(f"burst {n}", id=f"{n:032x}")) for n in range(8)]
        limited = [o for o in outcomes if isinstance(o, Retry)]
        assert limited, outcomes  # the burst is larger than rc_message allows
        wait = limited[0].after
        assert "M_LIMIT_EXCEEDED" in limited[0].reason
        assert wait is not None and 0 < wait <= 1 / 0.2 + 1  # rc_message per_second 0.2
        time.sleep(wait)  # doing what Synapse asked makes the next attempt go through
        assert isinstance(matrix.send(note("after the wait", id="f" * 32)), Delivered)
    finally:
        matrix.close()


def test_a_resolved_notice_replies_to_and_edits_its_alert(homeserver: Homeserver) -> None:
    """What a fake server cannot vouch for: Synapse accepts the reply and the m.replace edit
    that point at the alert's real event id, which the sender kept from the alert's reply."""
    matrix = sender(homeserver)
    try:
        alert = note("synapse alert open", id="1" * 32, color="red")
        sent = matrix.send(alert)
        assert isinstance(sent, Delivered) and sent.ref and sent.ref.startswith("$"), sent
        assert isinstance(matrix, Resolving)
        notice = note("synapse alert closed", id="2" * 32, color="green")
        outcome = matrix.send_resolved(notice, [Original(sent.ref, alert)])
        assert isinstance(outcome, Delivered) and outcome.warning is None, outcome
    finally:
        matrix.close()
    closed = events_with(homeserver, "synapse alert closed")  # the edit quotes it too
    (reply,) = [e for e in closed if "m.new_content" not in e]
    assert reply["m.relates_to"] == {"m.in_reply_to": {"event_id": sent.ref}}
    (edit,) = [e for e in events_with(homeserver, "synapse alert open") if "m.new_content" in e]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": sent.ref}
