"""The one text layer: how a notification's text reaches each service's markup dialect.

Every sender field that a service renders (message, title, fallback, push title) is produced
here, never escaped by hand in a sender. ``format: text`` (the default) means the text is shown
as written: no mention pings anyone and no link hides its target. ``format: markdown`` is the
rule author's own markup, rendered where the service can.

Mentions and links are neutralised by a zero-width space (U+200B) placed inside the trigger
(``@\u200bhere``, ``<\u200b!channel>``, ``[click]\u200b(http://…)``): the text reads the same
to a person, but no service's parser sees the syntax any more. Where a dialect has a real escape
(Slack's ``&lt;``, HTML, CommonMark backslashes) that is used as well.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

ZWSP = "\u200b"

# ``@here``, ``@channel``, ``@all``, ``@everyone``, ``@user``, Zulip ``@**all**`` / ``@*team*``
# and ``@_**silent**``; not the ``@`` inside an address (``ops@example.com``).
_MENTION = re.compile(r"(?<![\w.+-])@(?=[\w*_])")
# Slack-compatible ``<!channel>``, ``<@U123>``, ``<#C1>``, ``<http://x|text>``, Google Chat
# ``<users/all>``, Teams ``<at>``: any ``<`` that opens a token.
_ANGLE = re.compile(r"<(?=[^\s<])")
# Inline links and images ``[text](url)`` / ``![alt](url)``, and reference links ``[text][ref]``.
_LINK = re.compile(r"\](?=[(\[])")
# CommonMark inline markup, and block markers at a line start (quote, heading, list).
_MARKDOWN_INLINE = re.compile(r"([\\`*_~|\[\]])")
_MARKDOWN_BLOCK = re.compile(r"^([>#+-])", re.MULTILINE)


def defuse(text: str) -> str:
    """``text`` with every mention and link trigger broken by an invisible zero-width space."""
    text = _MENTION.sub("@" + ZWSP, text)
    text = _ANGLE.sub("<" + ZWSP, text)
    return _LINK.sub("]" + ZWSP, text)


def escape_markdown(text: str) -> str:
    """``text`` escaped so a CommonMark renderer shows it as written (``foo_bar``, ``**``)."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    return _MARKDOWN_BLOCK.sub(r"\\\1", text)


def escape_slack(text: str) -> str:
    """Slack's three control characters escaped: ``<!channel>`` in log data cannot ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_html(text: str) -> str:
    """HTML that shows ``text`` as written, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


@cache
def _markdown_it() -> Callable[[str], str]:
    # markdown-it-py: CommonMark-compliant, maintained, pure Python; raw HTML stays disabled
    # so a rule's Markdown cannot smuggle tags, and unsafe link schemes are refused.
    from markdown_it import MarkdownIt  # noqa: PLC0415 - only rules with format: markdown pay

    renderer = MarkdownIt("commonmark", {"html": False, "breaks": True})
    return lambda text: renderer.render(text).strip()


def markdown_to_html(text: str) -> str:
    """A rule's Markdown rendered to HTML (Matrix ``formatted_body``, email, HipChat html)."""
    return _markdown_it()(text)


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Dialect:
    """One service field's markup: how literal text is protected, how Markdown is rendered."""

    name: str
    literal: Callable[[str], str]
    markdown: Callable[[str], str] = _same


#: Nothing is interpreted (ntfy/Gotify plain text, mail text, Matrix ``body``, console).
PLAIN = Dialect("plain", _same)
#: Plain text whose ``@all``/``@here`` still ping (HipChat ``message_format: text``).
PLAIN_MENTIONS = Dialect("plain+mentions", defuse)
#: Slack mrkdwn: the &lt; escape kills every control sequence; Markdown is passed through.
SLACK = Dialect("slack-mrkdwn", escape_slack)
#: CommonMark services (Discord, Zulip, Mattermost, Rocket.Chat, ntfy markdown).
MARKDOWN = Dialect("markdown", lambda text: defuse(escape_markdown(text)))
#: A Markdown subset without reliable backslash escapes (Teams TextBlock, Google Chat text):
#: links and mentions are broken, emphasis from data may still show.
MARKDOWN_LITE = Dialect("markdown-lite", defuse)
#: HTML (Matrix ``formatted_body``, email HTML part, HipChat html, Google Chat card text).
HTML = Dialect("html", escape_html, markdown_to_html)


def render(text: str, fmt: str, dialect: Dialect) -> str:
    """``text`` for a field in ``dialect``: literal for ``format: text``, rendered for markdown."""
    return dialect.markdown(text) if fmt == "markdown" else dialect.literal(text)
