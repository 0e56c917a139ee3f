"""Every daemon log produced by the test suite, checked once at the end for leaked secrets.

DESIGN.md: webhook URLs and tokens never appear in logs. Individual tests check the secrets
they plant; this checks everything every daemon subprocess logged in the whole run: a URL with
its path (where webhook credentials live) must never be printed unmasked.
"""

from __future__ import annotations

import re
import threading

_LOGS: list[tuple[str, str]] = []
_LOCK = threading.Lock()
# A log line as logsetup writes it: text ("2026-11-27 10:00:00,123 LEVEL …") or JSON.
_LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\{"time")')
_UNMASKED_URL = re.compile(r"https?://[^\s/\"'<>]+/(?!\*\*\*)[^\s\"'<>]+")


def record(test: str, output: str) -> None:
    with _LOCK:
        _LOGS.append((test, output))


def leaks(logs: list[tuple[str, str]] | None = None) -> list[str]:
    """``test: line`` for each daemon log line that shows a URL path unmasked."""
    found = []
    if logs is None:
        with _LOCK:
            logs = list(_LOGS)
    for test, output in logs:
        for line in output.splitlines():
            if _LOG_LINE.match(line) and _UNMASKED_URL.search(line):
                found.append(f"{test}: {line[:300]}")
    return found


def count() -> int:
    with _LOCK:
        return len(_LOGS)
