"""The journal position: what is persisted, and what a lost cursor means. Pure.

A journal cursor is ``s=<seqnum id>;i=<seqnum hex>;b=<boot id>;m=<monotonic hex>;t=<realtime
hex>;x=<hash>``. The persisted value is JSON: ``{"cursor": "<cursor>"}`` after the last committed
entry, or ``{"cursor": null}`` once a source has started on an empty journal (it then reads from
the oldest entry: every entry in it arrived after the start).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

KEY = "journal"  # the source's one key in the positions table


@dataclass(frozen=True)
class Cursor:
    text: str
    seqnum_id: str | None
    seqnum: int | None
    realtime: float | None  # seconds since the epoch

    @classmethod
    def parse(cls, text: str) -> Cursor:
        parts = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
        return cls(text, parts.get("s"), _hex(parts.get("i")), _seconds(_hex(parts.get("t"))))


def encode(cursor: str | None) -> str:
    return json.dumps({"cursor": cursor})


def decode(value: str) -> str | None:
    """The stored cursor; ValueError when the stored value is not a journal position."""
    data = json.loads(value)
    if not isinstance(data, dict) or "cursor" not in data:
        raise ValueError("not a journal position")
    cursor = data["cursor"]
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError("not a journal position")
    return cursor


def gap(saved: Cursor, oldest: Cursor | None) -> str:
    """What a vanished cursor skipped, as precisely as the two cursors allow."""
    if oldest is None:
        return "the journal holds no entry after it"
    since = _when(saved.realtime)
    until = _when(oldest.realtime)
    if (
        saved.seqnum_id is not None
        and saved.seqnum_id == oldest.seqnum_id
        and saved.seqnum is not None
        and oldest.seqnum is not None
    ):
        skipped = max(oldest.seqnum - saved.seqnum - 1, 0)
        return f"about {skipped} entries written between {since} and {until} were skipped"
    return f"entries written between {since} and {until} were skipped (how many is unknown)"


def _hex(value: str | None) -> int | None:
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None


def _seconds(microseconds: int | None) -> float | None:
    return microseconds / 1e6 if microseconds is not None else None


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
