"""Multi-line events: continuation lines join the line that started them.

A group is complete when the next start line arrives or after ``timeout`` seconds without a new
line. While a group is open its first byte is the file's resume offset, so a restart re-reads
the whole group instead of losing its first lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    """A decoded line (or a finished group of lines) and its [start, end) byte span."""

    start: int
    end: int
    text: str
    truncated: bool = False


class Grouper:
    """Collects lines into groups; holds at most ``max_bytes`` of text of the open group."""

    def __init__(self, start: re.Pattern[str], timeout: float, max_bytes: int) -> None:
        self.start_re = start
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._texts: list[str] = []
        self._size = 0
        self._start = 0
        self._end = 0
        self._truncated = False
        self.deadline = 0.0  # monotonic time at which the open group is flushed

    @property
    def open_start(self) -> int | None:
        """File offset of the open group's first line, or None when no group is open."""
        return self._start if self._texts else None

    def add(self, line: Line, now: float) -> Line | None:
        """Add a line; returns the group it completed, if it starts a new one."""
        done = None
        if self._texts and self.start_re.search(line.text):
            done = self.flush()
        if not self._texts:
            self._start = line.start
            self._texts.append(line.text)
            self._size = len(line.text)
            self._truncated = line.truncated
        elif self._size + len(line.text) <= self.max_bytes:
            self._texts.append(line.text)
            self._size += len(line.text) + 1
            self._truncated |= line.truncated
        else:
            self._truncated = True  # bounded: further continuation lines are dropped
        self._end = line.end
        self.deadline = now + self.timeout
        return done

    def due(self, now: float) -> Line | None:
        """The open group if its timeout has passed."""
        if self._texts and now >= self.deadline:
            return self.flush()
        return None

    def flush(self) -> Line | None:
        """Complete the open group now (timeout, or its file is finished)."""
        if not self._texts:
            return None
        text = "\n".join(self._texts)
        group = Line(self._start, self._end, text, self._truncated)
        self._texts = []
        self._size = 0
        self._truncated = False
        return group
