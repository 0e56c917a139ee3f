"""Which files a logfile source follows: its configured paths and globs, resolved."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class Patterns:
    """The configured paths and globs of one source; logs once when one is awaited."""

    def __init__(self, source: str, patterns: list[str]) -> None:
        self.source = source
        self.patterns = patterns
        self._matched: set[str] = set()  # patterns that matched a file at least once
        self._waiting: set[str] = set()  # patterns whose "waiting for" line was logged

    def files(self, watch: Callable[[Path], object] | None = None) -> list[tuple[str, bool]]:
        """Existing files matching the patterns, each with whether it came from a glob;
        ``watch`` is given the directory of each."""
        found: dict[str, bool] = {}
        for pattern in self.patterns:
            magic = glob.has_magic(pattern)
            matches = sorted(glob.glob(pattern)) if magic else [pattern]
            matches = [m for m in matches if os.path.isfile(m)]
            # One line while a file is awaited; a rotation's brief gap is not news.
            if not matches and pattern not in self._matched | self._waiting:
                log.info("source %s: waiting for %s to appear", self.source, pattern)
                self._waiting.add(pattern)
            elif matches and pattern not in self._matched:
                self._matched.add(pattern)
                if pattern in self._waiting:
                    log.info("source %s: %s appeared", self.source, pattern)
            for path in matches:
                found.setdefault(path, magic)
                if watch is not None:
                    watch(Path(path).parent)
        return list(found.items())

    def configured(self, path: str) -> tuple[bool, bool]:
        """(matches a configured path or glob, came from a glob)."""
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                if Path(path).match(pattern) and path.count(os.sep) == pattern.count(os.sep):
                    return True, True
            elif path == pattern:
                return True, False
        return False, False
