"""Pure helpers senders share: length limits with a visible marker, palette mapping, HTML.

Composition over a base class: each sender picks what its service needs from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ruleengine.colors import PALETTE, to_hex, to_rgb

TRUNCATED = "… [truncated]"
Unit = Literal["chars", "bytes"]

# The named colours (without ``random``) a hex colour is snapped to for services that only
# know names (HipChat, Teams).
NAMED = tuple(name for name in PALETTE if name != "random")

_EMOJI = {
    "yellow": "\U0001f7e1",
    "green": "\U0001f7e2",
    "red": "\U0001f534",
    "purple": "\U0001f7e3",
    "gray": "\u26aa",
}


def size(text: str, unit: Unit = "chars") -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def truncate(text: str, limit: int, unit: Unit = "chars", marker: str = TRUNCATED) -> str:
    """``text`` if it fits in ``limit``, else its start plus ``marker`` (the whole fits)."""
    if size(text, unit) <= limit:
        return text
    room = limit - size(marker, unit)
    if room <= 0:
        return _cut(marker, limit, unit)
    return _cut(text, room, unit) + marker


def _cut(text: str, limit: int, unit: Unit) -> str:
    if unit == "chars":
        return text[:limit]
    # Cut on a byte budget without splitting a UTF-8 sequence.
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def fit(text: str, limit: int, render: Callable[[str], str], unit: Unit = "chars") -> str:
    """The longest truncation of ``text`` whose ``render`` fits ``limit`` (escaping grows text).

    Binary search on the text budget: rendering is monotonic in the text kept.
    """
    if size(render(text), unit) <= limit:
        return text
    low, high = 0, min(limit, size(text, unit))
    while low < high:
        middle = (low + high + 1) // 2
        if size(render(truncate(text, middle, unit)), unit) <= limit:
            low = middle
        else:
            high = middle - 1
    return truncate(text, low, unit)


def palette_name(color: str, seed: str = "") -> str:
    """A named palette colour for ``color``: itself, ``random`` resolved, or the nearest name."""
    if color in NAMED:
        return color
    r, g, b = to_rgb(color, seed)

    def distance(name: str) -> int:
        nr, ng, nb = to_rgb(name)
        return (r - nr) ** 2 + (g - ng) ** 2 + (b - nb) ** 2

    return min(NAMED, key=distance)


def color_int(color: str, seed: str = "") -> int:
    """0xRRGGBB as an integer (Discord embeds)."""
    return int(to_hex(color, seed)[1:], 16)


def color_emoji(color: str, seed: str = "") -> str:
    """A coloured circle for services without colours (Google Chat, Zulip)."""
    return _EMOJI[palette_name(color, seed)]


def first_line(text: str, limit: int) -> str:
    """The first non-empty line, shortened to ``limit`` characters (mail subjects, topics)."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return truncate(line, limit, marker="…")


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (headers, subjects, topics cannot hold line breaks), shortened."""
    return truncate(" ".join(text.split()), limit, marker="…")
