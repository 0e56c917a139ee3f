"""What ``ruleengine status`` shows, put together: the daemon, its sources and destinations.

Readers open their own read-only SQLite connection with a busy timeout (``db.open_readonly``), so
they run safely beside the daemon (WAL lets a reader see the last committed state while the
daemon writes). The parts live in ``meta``, ``queues`` and ``source_status``; this module
re-exports them for readers of the whole report.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruleengine.errors import StateError
from ruleengine.redact import Redactor
from ruleengine.state.db import open_readonly, recovery_hint
from ruleengine.state.meta import read_meta, record_daemon
from ruleengine.state.queues import (
    DestinationStatus,
    QueueSummary,
    destination_status,
    queue_summary,
)
from ruleengine.state.source_status import (
    FileStatus,
    SourceStatus,
    source_status,
)
from ruleengine.words import human_duration

__all__ = [
    "DaemonStatus",
    "DestinationStatus",
    "FileStatus",
    "QueueSummary",
    "Report",
    "SourceStatus",
    "build_report",
    "daemon_status",
    "destination_status",
    "human_duration",
    "open_readonly",
    "queue_summary",
    "read_meta",
    "record_daemon",
    "recovery_hint",
    "source_status",
]


@dataclass(frozen=True)
class DaemonStatus:
    running: bool
    pid: int | None
    started: float | None
    uptime: float | None
    config_path: str | None
    config_hash: str | None
    config_loaded: float | None
    reloads: int
    reload_time: float | None = None  # the last reload attempt after start, if any
    reload_ok: bool | None = None
    reload_errors: tuple[str, ...] = ()  # "file:line: key: problem" of a failed reload


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to another user (the service's)
    except OSError:
        return False
    try:  # a recycled pid belongs to something else
        return b"ruleengine" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (or hidden): trust the pid


def daemon_status(meta: Mapping[str, str], now: float) -> DaemonStatus:
    def number(key: str) -> float | None:
        try:
            return float(meta[key])
        except (KeyError, ValueError):
            return None

    errors = _json(meta.get("reload_errors"))
    pid_value = number("pid")
    pid = int(pid_value) if pid_value is not None else None
    started, stopped = number("started"), number("stopped")
    running = (
        pid is not None
        and started is not None
        and (stopped is None or stopped < started)
        and _alive(pid)
    )
    return DaemonStatus(
        running=running,
        pid=pid,
        started=started,
        uptime=(now - started) if running and started is not None else None,
        config_path=meta.get("config_path"),
        config_hash=meta.get("config_hash"),
        config_loaded=number("config_loaded"),
        reloads=int(number("reloads") or 0),
        reload_time=number("reload_time"),
        reload_ok=ok if isinstance(ok := _json(meta.get("reload_ok")), bool) else None,
        reload_errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
    )


@dataclass(frozen=True)
class Report:
    state_db: str
    daemon: DaemonStatus
    sources: tuple[SourceStatus, ...]
    destinations: tuple[DestinationStatus, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_report(
    path: Path,
    specs: Mapping[str, Any] | None,
    destinations: Iterable[str],
    redactor: Redactor,
) -> Report:
    """Everything ``status`` shows. ``specs`` defaults to what the running daemon recorded."""
    conn = open_readonly(path)
    try:
        now = time.time()
        meta = read_meta(conn)
        recorded = _json(meta.get("sources"))
        if isinstance(recorded, dict) and recorded:
            specs = recorded
        recorded_destinations = _json(meta.get("destinations"))
        names = list(destinations)
        if isinstance(recorded_destinations, list) and recorded_destinations:
            names = [str(n) for n in recorded_destinations]
        return Report(
            state_db=str(path),
            daemon=daemon_status(meta, now),
            sources=tuple(source_status(conn, specs or {})),
            destinations=tuple(destination_status(conn, names, redactor, now)),
        )
    except sqlite3.DatabaseError as exc:
        raise StateError(
            f"cannot read state database {path}: {exc}; {recovery_hint(path)}"
        ) from None
    finally:
        conn.close()


def _json(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
