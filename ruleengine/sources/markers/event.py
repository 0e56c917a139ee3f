"""A marker's bytes as an Event, and the ledger row that remembers it was enqueued."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruleengine.model import Event, stable_id
from ruleengine.sources.markers.payload import Format, decode, parse_payload

TEXT_LIMIT = 4096  # characters of the marker kept as the event's text


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


def marker_fields(
    payload: dict[str, Any], *, fmt: str, path: Path, relpath: str, size: int, mtime: float
) -> dict[str, Any]:
    """Template fields of a marker. Facts about the file win over payload keys of the same name
    (rules select on ``file``, so a payload must not be able to fake it); the whole payload
    stays reachable as ``data``, e.g. ``{{ data.file }}``.
    """
    meta = {
        "file": path.name,
        "stem": path.name.split(".", 1)[0],
        "path": str(path),
        "relpath": relpath,
        "directory": str(path.parent),
        "size": size,
        "mtime": mtime,
        "format": fmt,
        "data": payload,
    }
    return {**payload, **meta}


def marker_event(
    source: str,
    rel: str,
    path: Path,
    raw: bytes,
    info: os.stat_result,
    *,
    preferred: Format = "auto",
) -> Event:
    """The event of a marker's bytes (pure but for the clock); ``BadMarker`` when it has none.

    The id depends on the path, content and mtime only: the same marker read again after a
    crash yields the same outbox ids.
    """
    text = decode(raw)
    fmt, payload = parse_payload(text, path.name, preferred)
    return Event(
        id=stable_id(source, rel, hashlib.sha256(raw).hexdigest(), info.st_mtime_ns),
        source=source,
        kind="marker",
        text=text[:TEXT_LIMIT],
        time=time.time(),
        fields=marker_fields(
            payload, fmt=fmt, path=path, relpath=rel, size=info.st_size, mtime=info.st_mtime
        ),
    )
