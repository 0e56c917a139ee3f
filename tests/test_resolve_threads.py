"""Resolved notices that edit or thread their alert (Discord edits, Matrix replies and edits),
through the real engine, store, delivery workers and loopback receiver; plain services and
every failure of the alert still get the plain resolved notice."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ruleengine.dispatch import Route
from ruleengine.engine import Engine
from ruleengine.metrics import Metrics
from ruleengine.model import Batch, Delivered, Notification, Original, Retry
from ruleengine.redact import Redactor
from ruleengine.render import notification_id
from ruleengine.senders.common import color_int
from ruleengine.senders.web import HttpSender
from ruleengine.state import Store
from tests.support.daemon import DaemonProcess, append
from tests.support.dispatch_helpers import route, running
from tests.support.enginekit import Clock, feed
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply, discord_messages, matrix_events
from tests.support.rulekit import RESOLVE_RULES, THRESHOLD_RULES, line, ruleset
from tests.support.senders import make, note

# RESOLVE_RULES' alert and recovery, both sent to `out` (Discord or Matrix) and `other` (plain).
RULES = RESOLVE_RULES.replace("  color: red\n", "  color: red\n  to: [out, other]\n").replace(
    "  resolves:", "  to: [out, other]\n  resolves:"
)
FAST = {"backoff": 0.05, "backoff_max": 0.1}
FAILED, FIXED = "Package 7zip install FAILED on web1", "Package 7zip installed on web1"


@contextmanager
def pipeline(tmp_path: Path, out: Route, other: Route) -> Iterator[tuple[Engine, Clock, Store]]:
    """The engine on an injected clock, committing to a real store that real workers deliver."""
    redactor, store, clock = Redactor(), Store(tmp_path), Clock()
    with running({"out": out, "other": other}, store, redactor) as dispatcher:
        yield Engine(ruleset(RULES), store, dispatcher.wake, clock=clock), clock, store
        assert dispatcher.wait_drained(10)
    store.close()


def discord(receiver: Receiver) -> Route:
    return route(
        "out",
        Redactor(),
        type="discord",
        webhook_url=f"{receiver.url}/api/webhooks/1/tok",
        rate=100,
        retry=FAST,
    )


def webhook(receiver: Receiver) -> Route:
    return route("other", Redactor(), url=f"{receiver.url}/plain", rate=100, retry=FAST)


def discord_failing(*first: Reply) -> Callable[[str, str, bytes], Reply]:
    """A Discord webhook whose first answers are ``first`` (other paths: 200 ok)."""
    answer, script = discord_messages(), list(first)

    def failing(method: str, path: str, body: bytes) -> Reply:
        if not path.startswith("/api/"):
            return Reply()
        return script.pop(0) if script else answer(method, path, body)

    return failing


def by_path(receiver: Receiver, part: str) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path, r.json()) for r in receiver.requests if part in r.path]


def test_the_alert_keeps_its_ids_and_the_notice_names_them_per_destination(
    tmp_path: Path,
) -> None:
    store, clock = Store(tmp_path), Clock()
    engine = Engine(ruleset(RULES), store, lambda _: None, clock=clock)
    first, again = line(FAILED, offset=1), line(FAILED, offset=2)  # still failing: both count
    alerts = engine.process(Batch((first,))) + engine.process(Batch((again,)))
    assert [a.resolvable for a in alerts] == [True] * 4
    notices = engine.process(Batch((line(FIXED, offset=3),)))
    assert [n.destination for n in notices] == ["out", "other"]
    for notice in notices:
        assert notice.resolves == tuple(
            notification_id(e.id, "install-failed", notice.destination) for e in (first, again)
        )
        assert not notice.resolvable
    stored = [r["record"] for r in outbox_rows(tmp_path)]  # both survive the outbox
    assert [r.get("resolvable", False) for r in stored] == [True] * 4 + [False] * 2
    assert stored[-1]["resolves"] == list(notices[-1].resolves)
    store.close()
    store = Store(tmp_path)
    engine = Engine(ruleset(RULES), store, lambda _: None, clock=clock)
    assert engine.state.alerts.slots == {}  # resolved, and that was saved
    store.close()


def test_an_open_alert_keeps_its_events_across_a_restart(tmp_path: Path) -> None:
    store, clock = Store(tmp_path), Clock()
    Engine(ruleset(RULES), store, lambda _: None, clock=clock).process(
        Batch((line(FAILED, offset=1),))
    )
    store.close()
    store = Store(tmp_path)
    engine = Engine(ruleset(RULES), store, lambda _: None, clock=clock)
    (notice, _) = engine.process(Batch((line(FIXED, offset=2),)))
    assert notice.resolves == (notification_id(line(FAILED, offset=1).id, "install-failed", "out"),)
    store.close()


def test_a_metered_discord_still_edits_the_alert(tmp_path: Path) -> None:
    """``run --metrics`` wraps every sender to count its answers; the wrapper must still edit."""
    metrics = Metrics(tmp_path / "state.db", ("127.0.0.1", 0))
    with Receiver() as receiver:
        receiver.answer = discord_messages()
        out = discord(receiver)
        out = dataclasses.replace(out, sender=metrics.wrap_sender("out", out.sender))
        with pipeline(tmp_path, out, webhook(receiver)) as (engine, clock, _):
            feed(engine, line(FAILED, offset=1))
            eventually(lambda: len(receiver.requests) == 2)
            clock.advance(40 * 60)
            feed(engine, line(FIXED, offset=2))
            eventually(lambda: len(receiver.requests) == 5)
    methods = [method for method, _, _ in by_path(receiver, "/api/webhooks/1/tok")]
    assert methods == ["POST", "PATCH", "POST"]
    delivered = metrics.outcomes.labels("out", "delivered")._value.get()
    assert delivered == 2  # the alert and the notice; the edit is part of the notice's send


def test_discord_edits_the_alert_then_posts_the_notice(tmp_path: Path) -> None:
    with Receiver() as receiver:
        receiver.answer = discord_messages()
        with pipeline(tmp_path, discord(receiver), webhook(receiver)) as (engine, clock, _):
            feed(engine, line(FAILED, offset=1))
            eventually(lambda: len(receiver.requests) == 2)
            clock.advance(40 * 60)
            feed(engine, line(FIXED, offset=2))
            eventually(lambda: len(receiver.requests) == 5)
    posted, edit, notice = by_path(receiver, "/api/webhooks/1/tok")
    assert posted[:2] == ("POST", "/api/webhooks/1/tok?wait=true")
    assert edit[:2] == ("PATCH", "/api/webhooks/1/tok/messages/1")
    (embed,) = edit[2]["embeds"]
    assert embed["description"] == "7zip failed on web1"  # the alert as it was posted
    assert embed["color"] == color_int("green")  # in the notice's colour
    assert embed["fields"] == [
        {"name": "\u2705 Resolved", "value": "7zip on web1 resolved after 40m"}
    ]
    assert edit[2]["allowed_mentions"] == {"parse": []}
    assert notice[0] == "POST" and notice[2]["embeds"][0]["description"].endswith("after 40m")
    # A service that cannot edit (a plain webhook) gets the alert and the notice, nothing else.
    assert [body["text"] for _, _, body in by_path(receiver, "/plain")] == [
        "7zip failed on web1",
        "7zip on web1 resolved after 40m",
    ]


def test_a_notice_rendered_before_its_alert_was_delivered_edits_it_once_known(
    tmp_path: Path,
) -> None:
    with Receiver() as receiver:
        receiver.answer = discord_failing(Reply(500, "down"), Reply(500, "down"))
        with pipeline(tmp_path, discord(receiver), webhook(receiver)) as (engine, _, _):
            feed(engine, line(FAILED, offset=1), line(FIXED, offset=2))
            eventually(lambda: len(by_path(receiver, "/api/")) == 5)
    methods = [(m, p) for m, p, _ in by_path(receiver, "/api/")]
    assert methods[2:] == [
        ("POST", "/api/webhooks/1/tok?wait=true"),  # the alert, at last: message 1
        ("PATCH", "/api/webhooks/1/tok/messages/1"),
        ("POST", "/api/webhooks/1/tok?wait=true"),
    ]


def test_an_alert_that_never_arrived_gets_the_plain_notice(tmp_path: Path) -> None:
    with Receiver() as receiver:
        receiver.answer = discord_failing(Reply(400, '{"code": 50006, "message": "bad"}'))
        with pipeline(tmp_path, discord(receiver), webhook(receiver)) as (engine, _, _):
            feed(engine, line(FAILED, offset=1), line(FIXED, offset=2))
            eventually(lambda: len(by_path(receiver, "/api/")) == 2)
    assert [m for m, _, _ in by_path(receiver, "/api/")] == ["POST", "POST"]
    states = {r["record"]["text"]: r["state"] for r in outbox_rows(tmp_path, destination="out")}
    assert states == {"7zip failed on web1": "dead", "7zip on web1 resolved after 0s": "delivered"}


def test_an_edit_the_service_refuses_leaves_a_warning_not_a_lost_notice(tmp_path: Path) -> None:
    with Receiver() as receiver:
        answer = discord_messages()

        def refuse_edits(method: str, path: str, body: bytes) -> Reply:
            if method == "PATCH":
                return Reply(404, '{"code": 10008, "message": "Unknown Message"}')
            return answer(method, path, body)

        receiver.answer = refuse_edits
        with pipeline(tmp_path, discord(receiver), webhook(receiver)) as (engine, _, _):
            feed(engine, line(FAILED, offset=1))
            feed(engine, line(FIXED, offset=2))
            eventually(lambda: len(by_path(receiver, "/api/")) == 3)
    notice = outbox_rows(tmp_path, destination="out")[-1]
    assert notice["state"] == "delivered"
    assert "the alert was not marked resolved: HTTP 404" in notice["last_error"]
    assert "Unknown Message" in notice["last_error"]


def matrix(receiver: Receiver) -> Route:
    settings = {"homeserver": receiver.url, "room_id": "!room:hs", "token": "secret-token"}
    return route("out", Redactor(), type="matrix", rate=100, retry=FAST, **settings)


def test_matrix_replies_to_the_alert_and_edits_it(tmp_path: Path) -> None:
    with Receiver() as receiver:
        receiver.answer = matrix_events()
        with pipeline(tmp_path, matrix(receiver), webhook(receiver)) as (engine, clock, _):
            feed(engine, line(FAILED, offset=1))
            eventually(lambda: len(by_path(receiver, "/_matrix/")) == 1)
            clock.advance(3600)
            feed(engine, line(FIXED, offset=2))
            eventually(lambda: len(by_path(receiver, "/_matrix/")) == 3)
    (_, alert_path, _), (_, edit_path, edit), (_, notice_path, notice) = by_path(
        receiver, "/_matrix/"
    )
    alert_event = "$" + alert_path.rsplit("/", 1)[-1]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": alert_event}
    new = edit["m.new_content"]
    assert new["body"] == "7zip failed on web1\n\u2705 Resolved: 7zip on web1 resolved after 1h"
    assert 'data-mx-color="#2eb886"' in new["formatted_body"]
    assert edit["body"] == "* " + new["body"]
    assert notice["m.relates_to"] == {"m.in_reply_to": {"event_id": alert_event}}
    assert notice["body"] == "7zip on web1 resolved after 1h"
    assert edit_path != notice_path  # two transactions: a retry repeats neither twice


def test_ids_are_forgotten_once_resolved_and_pruned_by_age(tmp_path: Path) -> None:
    first = notification_id(line(FAILED, offset=1).id, "install-failed", "out")
    notice = Notification("n", "out", "install-ok", "log", "t", resolves=(first,))
    with Receiver() as receiver:
        receiver.answer = discord_messages()
        with pipeline(tmp_path, discord(receiver), webhook(receiver)) as (engine, _, store):
            feed(engine, line(FAILED, offset=1), line("Package b install FAILED on x", offset=2))
            eventually(lambda: len(by_path(receiver, "/api/")) == 2)
            assert [(o.ref, o.notification.text) for o in store.originals(notice)] == [
                ("1", "7zip failed on web1")
            ]
            feed(engine, line(FIXED, offset=3))
            eventually(lambda: len(by_path(receiver, "/api/")) == 4)
            eventually(lambda: not store.counts()["out"].get("pending"))
            assert store.originals(notice) == []  # resolved: forgotten
            assert store.prune_refs(float("inf")) == 1  # b's alert, still open


def test_the_edit_is_repeatable_so_a_retried_notice_never_posts_twice() -> None:
    """The edits go first and set the same content again: a notice that fails is retried whole."""
    with Receiver() as receiver:
        receiver.answer = discord_messages()
        receiver.reply(Reply(200, "{}"), Reply(503, "busy"))  # the edit works, the notice not
        sender = make("discord", webhook_url=f"{receiver.url}/api/webhooks/1/tok")
        assert isinstance(sender, HttpSender)
        alert = note("disk full", color="red")
        notice = note("disk ok", id="f" * 32, color="green")
        try:
            assert isinstance(sender.send_resolved(notice, [Original("77", alert)]), Retry)
            outcome = sender.send_resolved(notice, [Original("77", alert)])
        finally:
            sender.close()
    assert isinstance(outcome, Delivered) and outcome.warning is None
    methods = [(r.method, r.path.split("?")[0]) for r in receiver.requests]
    assert methods == [
        ("PATCH", "/api/webhooks/1/tok/messages/77"),
        ("POST", "/api/webhooks/1/tok"),
        ("PATCH", "/api/webhooks/1/tok/messages/77"),
        ("POST", "/api/webhooks/1/tok"),
    ]
    assert json.loads(receiver.requests[0].body) == json.loads(receiver.requests[2].body)


def test_discord_keeps_a_thread_id_and_quotes_the_message_id() -> None:
    sender = make("discord", webhook_url="https://discord.com/api/webhooks/1/tok?thread_id=9")
    assert isinstance(sender, HttpSender)
    edits, notice = sender.service.resolved(note("ok"), [Original("a/b", note("bad"))])  # type: ignore[attr-defined]
    assert notice.url == "https://discord.com/api/webhooks/1/tok?thread_id=9&wait=true"
    assert edits[0].url == "https://discord.com/api/webhooks/1/tok/messages/a%2Fb?thread_id=9"
    sender.close()


# THRESHOLD_RULES' alert and recovery, sent to a Discord webhook.
DAEMON_RULES = THRESHOLD_RULES.replace(
    'hook: {{type: webhook, url: "{url}/hook"}}',
    'hook: {{type: discord, webhook_url: "{url}/api/webhooks/1/tok", rate: 50}}',
)


@pytest.mark.slow
def test_the_daemon_edits_an_alert_delivered_before_a_kill_9(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The message id is durable: kept in the alert's delivery, used after a restart."""
    receiver.answer = discord_messages()
    rules = tmp_path / "rules.yaml"
    rules.write_text(DAEMON_RULES.format(url=receiver.url), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("")
    with DaemonProcess(rules) as daemon:
        append(log, "Package 7zip install FAILED\n")
        receiver.wait_for(1)
        eventually(lambda: outbox_rows(tmp_path / "state", state_is="delivered"))
        daemon.kill()
    with DaemonProcess(rules):
        append(log, "Package 7zip installed\n")
        receiver.wait_for(3, timeout=20)
    (_, _, alert), (method, path, edit), (_, _, notice) = by_path(receiver, "/api/")
    assert (method, path) == ("PATCH", "/api/webhooks/1/tok/messages/1")
    assert edit["embeds"][0]["description"] == alert["embeds"][0]["description"] == "7zip failed"
    assert edit["embeds"][0]["fields"][0]["value"] == "7zip resolved"
    assert notice["embeds"][0]["description"] == "7zip resolved"
