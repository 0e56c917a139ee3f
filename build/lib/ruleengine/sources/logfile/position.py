"""The logfile source's position codec: what is stored per configured path, pure.

Used by the source (restore, save) and by ``status`` (offset and lag, rotated generations still
being read); nothing else parses it.
A value is JSON: ``{"active": state, "rotated": [states being drained], "done": [finished],
"saved": epoch}``, each state a ``FileState``; the skeleton's flat ``{"dev", "ino", "offset"}``
is still read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruleengine.sources.logfile.rotation import FileState


@dataclass(frozen=True)
class Stored:
    """A parsed stored position."""

    active: FileState | None
    rotated: list[FileState]
    done: list[FileState]
    saved: float | None

    @classmethod
    def parse(cls, value: str) -> Stored:
        """Raises ``ValueError``, ``KeyError`` or ``TypeError`` for a value it cannot read."""
        data: Any = json.loads(value)
        if "ino" in data:  # the skeleton's flat format: one file, no token yet
            data = {"active": {**data, "token": f"{data['dev']}-{data['ino']}"}}
        active = data.get("active")
        return cls(
            active=FileState.from_json(active) if active is not None else None,
            rotated=[FileState.from_json(item) for item in data.get("rotated", [])],
            done=[FileState.from_json(item) for item in data.get("done", [])],
            saved=float(data["saved"]) if "saved" in data else None,
        )


def encode(
    active: FileState | None,
    rotated: Sequence[FileState],
    done: Sequence[FileState],
    saved: float,
) -> str:
    """``saved``: files in the directory changed after it and known to no generation here
    are generations that appeared after this position was committed."""
    value = {
        "active": active.to_json() if active is not None else None,
        "rotated": [state.to_json() for state in rotated],
        "done": [state.to_json() for state in done],
        "saved": saved,
    }
    return json.dumps(value, sort_keys=True)


def active_offset(value: str) -> tuple[int, int, int] | None:
    """(dev, ino, offset) of the file last read at the path, or None when unreadable.

    Lenient on purpose: ``status`` shows where reading stands even for a state that lacks
    fields the source needs to resume (those the source logs as unreadable and starts over).
    """
    try:
        data: Any = json.loads(value)
        if "active" in data:
            data = data["active"]
        return int(data["dev"]), int(data["ino"]), int(data["offset"])
    except (ValueError, KeyError, TypeError):
        return None


def draining(value: str) -> list[FileState]:
    """The rotated generations a stored position says are still being read (for status);
    empty when the value cannot be read."""
    try:
        return Stored.parse(value).rotated
    except (ValueError, KeyError, TypeError):
        return []
