"""A rule's ``format``: text (default) is shown as written, markdown is rendered by the service.

Log data is data: a line holding ``<!channel>`` must not ping a Slack room, and ``foo_bar_baz``
or ``**`` must not turn into emphasis in Discord, Zulip or Mattermost, unless the rule asks for
Markdown. Checked on the exact payload each sender would send (``preview``).
"""

from __future__ import annotations

from typing import Any

import pytest

from ruleengine.senders.text import MARKDOWN, SLACK, escape_markdown
from tests.support.senders import make, note

DATA = "job foo_bar *failed* <!channel> [x](y)\n> quoted & done"


def slack_text(payload: dict[str, Any]) -> str:
    return str(payload["json"]["attachments"][0]["text"])


def discord_text(payload: dict[str, Any]) -> str:
    return str(payload["json"]["embeds"][0]["description"])


def zulip_text(payload: dict[str, Any]) -> str:
    return str(payload["form"]["content"])


CASES = [
    ("slack", {"webhook_url": "https://hooks.slack.com/services/T0/B0/x"}, slack_text),
    ("mattermost", {"webhook_url": "https://chat.example.com/hooks/abc"}, slack_text),
    ("rocketchat", {"webhook_url": "https://rc.example.com/hooks/a/b"}, slack_text),
    ("discord", {"webhook_url": "https://discord.com/api/webhooks/1/t"}, discord_text),
    (
        "zulip",
        {
            "url": "https://org.zulipchat.com",
            "email": "bot@example.com",
            "api_key": "k" * 32,
            "stream": "ops",
        },
        zulip_text,
    ),
]


@pytest.mark.parametrize(("kind", "settings", "text_of"), CASES, ids=[c[0] for c in CASES])
def test_text_is_escaped_and_markdown_passes_through(
    kind: str, settings: dict[str, Any], text_of: Any
) -> None:
    sender = make(kind, **settings)
    literal = text_of(sender.preview(note(DATA)))
    rendered = text_of(sender.preview(note(DATA, format="markdown")))
    dialect = SLACK if kind == "slack" else MARKDOWN
    assert dialect.literal(DATA) in literal
    assert DATA in rendered
    sender.close()


def test_slack_formats_attachment_text_only_for_markdown() -> None:
    sender = make("slack", webhook_url="https://hooks.slack.com/services/T0/B0/x")
    plain = sender.preview(note(DATA))["json"]["attachments"][0]
    marked = sender.preview(note(DATA, format="markdown"))["json"]["attachments"][0]
    assert "mrkdwn_in" not in plain and "&lt;!channel&gt;" in plain["text"]
    assert marked["mrkdwn_in"] == ["text"]
    sender.close()


def test_ntfy_and_webhook_say_which_format() -> None:
    ntfy = make("ntfy", url="https://ntfy.example.com", topic="ops")
    assert "markdown" not in ntfy.preview(note(DATA))["json"]
    assert ntfy.preview(note(DATA, format="markdown"))["json"]["markdown"] is True
    hook = make("webhook", url="https://example.com/hook")
    assert hook.preview(note(DATA, format="markdown"))["json"]["format"] == "markdown"
    ntfy.close()
    hook.close()


def test_literal_markdown_escapes_what_would_render() -> None:
    assert escape_markdown("a_b *c* `d` ~e~ |f| [g](h) \\i") == (
        "a\\_b \\*c\\* \\`d\\` \\~e\\~ \\|f\\| \\[g\\](h) \\\\i"
    )
    assert escape_markdown("> quote\n# head\n- item\nplain - dash") == (
        "\\> quote\n\\# head\n\\- item\nplain - dash"
    )
