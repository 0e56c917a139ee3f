"""A marker's bytes as an Event."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from ruleengine.model import Event, stable_id
from ruleengine.sources.markers.payload import Format, decode, parse_payload

TEXT_LIMIT = 4096  # characters of the marker kept as the event's text


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


def failed_event(source: str, rel: str, path: Path, info: os.stat_result, reason: str) -> Event:
    """The event reporting a bad marker (``report_failed``), before it moves to failed/."""
    return Event(
        id=stable_id(source, "failed", rel, info.st_mtime_ns, info.st_size, reason),
        source=source,
        kind="marker_failed",
        text=f"{rel}: {reason}",
        time=time.time(),
        fields={
            "event": "marker_failed",
            "file": f"{path.name}.failed",
            "marker": rel,
            "path": str(path),
            "reason": reason,
            "size": info.st_size,
            "mtime": info.st_mtime,
        },
    )
