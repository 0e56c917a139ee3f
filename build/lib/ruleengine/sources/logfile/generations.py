"""What one configured path holds over time, and its position: the file at the path
now, rotated generations still being drained, and finished ones remembered by identity."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ruleengine.model import Position
from ruleengine.sources.logfile.position import encode
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
        value = encode(
            self.active.current() if self.active is not None else None,
            [tail.current() for tail in self.rotated],
            self.done[-DONE_KEPT:],
            time.time(),
        )
        return Position(source, self.path, value)
