"""The marker ledger's encoding and the drop directory's layout, shared by the source and
``status``: pure, no filesystem access.

A ledger row is a position of the markers source: its key is the marker's path relative to the
directory, its value ``state sha256 mtime_ns``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROCESSED, FAILED = "processed", "failed"  # sub-directories markers are moved to
_IGNORED_SUFFIXES = (".tmp", ".part", "~", ".swp", ".reason", ".crdownload", ".partial")
_LEGACY_KEY = re.compile(r"^(?P<name>.+)/\d+:\d+:\d+:[0-9a-f]+$")


def ignored(name: str) -> bool:
    """Hidden and temporary names are never read: writers are still busy with them."""
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


@dataclass(frozen=True)
class Ledger:
    """What the state database remembers of a marker: ``state sha256 mtime_ns``."""

    state: str  # consumed | unmatched
    digest: str
    mtime_ns: int

    def sent(self, digest: str, mtime_ns: int, keep: bool) -> bool:
        """Was this content already enqueued? A kept marker is the same until its content
        changes; one that should have been moved must also have the same mtime (a rewrite of
        the same text is a new marker). "unmatched" is evaluated again: rules may have changed.
        """
        same = self.digest == digest and (keep or self.mtime_ns == mtime_ns)
        return same and self.state == "consumed"

    def encode(self) -> str:
        return f"{self.state} {self.digest} {self.mtime_ns}"

    @classmethod
    def decode(cls, value: str | None) -> Ledger | None:
        parts = (value or "").split(" ")
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]))


def unmatched_names(rows: dict[str, str]) -> set[str]:
    """Names of markers no rule matched (left in place), from a source's ledger rows."""
    return {marker_name(key) for key, value in rows.items() if value.startswith("unmatched")}


def marker_name(key: str) -> str:
    """The marker's name in a ledger key: ``name/dev:ino:mtime:digest`` (older releases) or
    its relative path."""
    legacy = _LEGACY_KEY.match(key)
    return legacy.group("name") if legacy else key
