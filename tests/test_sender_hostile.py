"""The hostile log line of issue 13 through every sender: nobody is pinged, no link is live.

A rule ``match: 'ALERT (?P<what>.*)'`` with ``title: 'Alert: {{ what }}'`` and
``message: 'got {{ what }}'`` renders the notification below (format: text, the default).
Each HTTP sender sends it to the real loopback receiver; the test reads the request as the
service would and checks every field the service renders, titles and fallbacks included, and
that a person still reads the same words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ruleengine.model import Delivered, Notification
from ruleengine.senders.text import ZWSP
from tests.support.receiver import Receiver
from tests.support.senders import CASES, KINDS, make, note, sender_for

WHAT = (
    "<!channel> <!here> @here @channel @all @everyone <users/all> [click](http://evil.example)"
    " <http://evil.example|Click> @**all** ![img](http://evil.example/x.png)"
)

# Syntax that pings or hides a link target, in the Markdown-like dialects of chat services.
LIVE_MARKUP = [
    re.compile(r"<!(channel|here)"),
    re.compile(r"<users/"),
    re.compile(r"<http"),
    re.compile(r"\]\(http"),
    re.compile(r"(?<![\w.])@(here|channel|all|everyone|\*\*all)"),
]
# Slack's mrkdwn has no [text](url) links and pings only through <!…>/<@…> tokens.
LIVE_SLACK = [re.compile(r"<[!@#]"), re.compile(r"<http"), re.compile(r"<users/")]
# In HTML fields only tags are live: no link and no Slack-style token survive unescaped.
LIVE_HTML = [re.compile(r"<a[\s>]"), re.compile(r"<[!@#]"), re.compile(r"<users/|<http")]

# Where each service renders markup ("markup"), HTML ("html"); other fields are plain text.
RENDERED: dict[str, dict[str, str]] = {
    "slack": {"title": "slack", "text": "slack", "fallback": "slack"},
    "mattermost": {"title": "markup", "text": "markup", "fallback": "markup"},
    "rocketchat": {"title": "markup", "text": "markup", "fallback": "markup"},
    "teams": {"text": "markup"},
    "discord": {"title": "markup", "description": "markup"},
    "googlechat": {"title": "markup", "text": "html"},
    "matrix": {"formatted_body": "html"},
    "hipchat": {"message": "markup"},
    "zulip": {"content": "markup", "topic": "markup"},
}


# What a person must read in each rendered field (possibly shortened to the field's limit).
SHOWN = [f"got {WHAT}", f"Alert: {WHAT}", f"Alert: {WHAT}: got {WHAT}"]


def hostile() -> Notification:
    return note(f"got {WHAT}", title=f"Alert: {WHAT}", notify=False)


def strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string) pair in a JSON document or form."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from strings(value, str(name))
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, key)
    elif isinstance(node, str):
        yield key, node


def readable(value: str, dialect: str) -> str:
    """What a person reads: tags dropped, entities and Markdown escapes undone, ZWSP unseen."""
    if dialect == "html":
        value = re.sub(r"<[^>]+>", "", value)
    value = html.unescape(value).replace(ZWSP, "")
    return re.sub(r"\\([\\`*_~|\[\]>#+!-])", r"\1", value)


@pytest.mark.parametrize("kind", KINDS)
def test_the_hostile_line_pings_nobody_and_links_nowhere(kind: str, receiver: Receiver) -> None:
    receiver.reply(CASES[kind].ok)
    sender = sender_for(kind, receiver.url)
    preview = sender.preview(hostile())
    try:
        assert isinstance(sender.send(hostile()), Delivered)
    finally:
        sender.close()
    (request,) = receiver.wait_for(1)
    sent = request.json() if "form" not in preview else dict(preview["form"])
    assert sent == preview.get("json", preview.get("form"))  # the preview is what was sent
    rendered = RENDERED.get(kind, {})
    seen = set()
    for key, value in strings(sent):
        dialect = rendered.get(key)
        if dialect is None:
            continue
        seen.add(key)
        patterns = {"html": LIVE_HTML, "slack": LIVE_SLACK}.get(dialect, LIVE_MARKUP)
        for pattern in patterns:
            assert not pattern.search(value), f"{kind} {key}: live {pattern.pattern} in {value!r}"
        shown = readable(value, dialect).removesuffix("…")
        assert any(shown in full or full in shown for full in SHOWN), f"{kind} {key}: {value!r}"
    assert seen == set(rendered), f"{kind}: fields not checked: {set(rendered) - seen}"
    if kind in {"ntfy", "gotify", "webhook"}:  # nothing rendered: shown exactly as written
        assert f"got {WHAT}" in {value for _, value in strings(sent)}


@pytest.mark.parametrize("kind", KINDS)
def test_titles_go_to_the_title_field_not_into_the_text(kind: str, receiver: Receiver) -> None:
    """No ``*title*`` stitched above the message where the service has a title field."""
    sender = sender_for(kind, receiver.url)
    payload = sender.preview(note("body text", title="The Title"))
    sender.close()
    texts = dict(strings(payload.get("json", payload.get("form"))))
    assert "*The Title*" not in str(payload)
    title_field = {
        "slack": "title",
        "mattermost": "title",
        "rocketchat": "title",
        "discord": "title",
        "ntfy": "title",
        "gotify": "title",
        "googlechat": "title",
        "zulip": "topic",
        "webhook": "title",
    }.get(kind)
    if title_field is not None:
        assert texts[title_field] == "The Title"


def test_email_and_console_show_the_line_literally() -> None:
    """Mail text and the console render nothing; the mail's HTML part escapes it."""
    mail = make("email", host="mail.example.org", to="ops@example.org")
    assert mail.preview(hostile())["body"] == f"got {WHAT}"
    message = mail.message(hostile())  # type: ignore[attr-defined]
    html_part = message.get_body(("html",)).get_content()
    assert not any(p.search(html_part) for p in LIVE_HTML)
    assert WHAT in readable(html_part, "html")
    console = make("console")
    assert f"got {WHAT}" in console.preview(hostile())["line"]
