"""What one configured path holds over time, and how it is persisted: the file at the path
now, rotated generations still being drained, and finished ones remembered by identity."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ruleengine.model import Position
from ruleengine.sources.logfile.rotation import FileState
from ruleengine.sources.logfile.tailer import Tail

DONE_KEPT = 8  # finished generations remembered per path, so a glob never reads them again


@dataclass
class Followed:
    """Everything read under one path: the file there now and rotated ones being drained."""

    path: str
    is_glob: bool
    active: Tail | None = None
    rotated: list[Tail] = field(default_factory=list)
    done: list[FileState] = field(default_factory=list)  # rotated generations read to the end
    # Wall time of the last look that found the active file still at the path: generations
    # created after it and rotated away before the next look are found by their rotated names.
    checked: float | None = None

    def tails(self) -> list[Tail]:
        return [*self.rotated, *([self.active] if self.active is not None else [])]

    def position(self, source: str) -> Position:
        value = {
            "active": self.active.current().to_json() if self.active is not None else None,
            "rotated": [tail.current().to_json() for tail in self.rotated],
            "done": [state.to_json() for state in self.done[-DONE_KEPT:]],
            # Files in the directory changed after this and known to no generation here
            # are generations that appeared after the last committed position.
            "saved": time.time(),
        }
        return Position(source, self.path, json.dumps(value, sort_keys=True))


def draining(value: str) -> list[FileState]:
    """The rotated generations a stored position says are still being read (for status);
    empty when the value cannot be read."""
    try:
        return Stored.parse(value).rotated
    except (ValueError, KeyError, TypeError):
        return []


@dataclass(frozen=True)
class Stored:
    """A parsed stored position."""

    active: FileState | None
    rotated: list[FileState]
    done: list[FileState]
    saved: float | None

    @classmethod
    def parse(cls, value: str) -> Stored:
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
