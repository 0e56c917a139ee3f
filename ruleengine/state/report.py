"""Read-only views of the state database, for ``ruleengine status`` and the daemon's STATUS line.

Readers open their own read-only SQLite connection with a busy timeout, so they run safely beside
the daemon (WAL lets a reader see the last committed state while the daemon writes). The daemon
records who it is (pid, start time, config hash, what its sources watch) in the ``meta`` table.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruleengine.errors import StateError
from ruleengine.redact import Redactor
from ruleengine.sources.logfile.compressed import compressed_name
from ruleengine.sources.logfile.generations import draining
from ruleengine.sources.logfile.rotation import FileState
from ruleengine.state.store import SCHEMA_VERSION, Store

META_PREFIX = "daemon."
BUSY_TIMEOUT_MS = 5000


def recovery_hint(path: Path) -> str:
    """The documented way out of a state database that cannot be used."""
    return (
        f"to start afresh: stop ruleengine, then `mv {path} {path}.broken` (with its -wal and -shm "
        "files); the next start creates a new database, log sources begin again per `start_at`, "
        "and undelivered notifications in the old file are not sent"
    )


# -- what the daemon records --------------------------------------------------------------


def record_daemon(store: Store, values: Mapping[str, Any]) -> None:
    """Upsert ``daemon.*`` keys in ``meta``; values that are not strings are stored as JSON."""
    rows = [
        (META_PREFIX + key, value if isinstance(value, str) else json.dumps(value))
        for key, value in values.items()
    ]
    with store.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            rows,
        )


# -- reading ------------------------------------------------------------------------------


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection, checked to be a ruleengine database this version understands."""
    if not path.exists():
        raise StateError(
            f"no state database at {path}: ruleengine has not run with this rules file yet"
        )
    try:
        conn = sqlite3.connect(
            path.absolute().as_uri() + "?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise StateError(f"cannot open state database {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        conn.execute("SELECT 1 FROM outbox LIMIT 1").fetchall()
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StateError(f"state database {path} is busy; try again") from None
        if "unable to open" in str(exc) or "readonly" in str(exc):
            raise StateError(f"cannot read state database {path}: {exc} (permissions?)") from None
        raise StateError(
            f"{path} is not a ruleengine state database ({exc}); {recovery_hint(path)}"
        ) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(
            f"state database {path} is corrupt ({exc}); {recovery_hint(path)}"
        ) from None
    version = int(row[0]) if row is not None and str(row[0]).isdigit() else 0
    if version > SCHEMA_VERSION:
        conn.close()
        raise StateError(
            f"{path} was written by a newer ruleengine (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade ruleengine, or {recovery_hint(path)}"
        )
    return conn


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT key, value FROM meta WHERE key LIKE ?", (META_PREFIX + "%",)
    ).fetchall()
    return {str(key)[len(META_PREFIX) :]: str(value) for key, value in rows}


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    oldest_pending: float | None  # epoch seconds
    last_delivery: float | None
    dead: int


def queue_summary(conn: sqlite3.Connection) -> QueueSummary:
    """Totals over every destination, cheap enough for the daemon's periodic STATUS line."""
    row = conn.execute(
        "SELECT COALESCE(SUM(state = 'pending'), 0),"
        " MIN(CASE WHEN state = 'pending' THEN created END),"
        " MAX(CASE WHEN state = 'delivered' THEN updated END),"
        " COALESCE(SUM(state = 'dead'), 0) FROM outbox"
    ).fetchone()
    return QueueSummary(int(row[0]), row[1], row[2], int(row[3]))


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    configured: bool  # False: rows remain for a destination no longer in the rules
    pending: int
    oldest_pending_age: float | None  # seconds
    last_success: float | None  # epoch seconds
    last_error: str | None
    last_error_time: float | None
    dead: int


def destination_status(
    conn: sqlite3.Connection, configured: Iterable[str], redactor: Redactor, now: float
) -> list[DestinationStatus]:
    names = list(configured)
    stats: dict[str, tuple[int, float | None, float | None, int]] = {}
    for name, pending, oldest, success, dead in conn.execute(
        "SELECT destination, COALESCE(SUM(state = 'pending'), 0),"
        " MIN(CASE WHEN state = 'pending' THEN created END),"
        " MAX(CASE WHEN state = 'delivered' THEN updated END),"
        " COALESCE(SUM(state = 'dead'), 0) FROM outbox GROUP BY destination"
    ):
        stats[str(name)] = (int(pending), oldest, success, int(dead))
    out = []
    for name in [*names, *sorted(set(stats) - set(names))]:
        pending, oldest, success, dead = stats.get(name, (0, None, None, 0))
        error = conn.execute(
            "SELECT last_error, updated FROM outbox WHERE destination = ?"
            " AND last_error IS NOT NULL ORDER BY updated DESC LIMIT 1",
            (name,),
        ).fetchone()
        out.append(
            DestinationStatus(
                name=name,
                configured=name in names,
                pending=pending,
                oldest_pending_age=None if oldest is None else max(now - oldest, 0.0),
                last_success=success,
                last_error=None if error is None else redactor(str(error[0])),
                last_error_time=None if error is None else error[1],
                dead=dead,
            )
        )
    return out


@dataclass(frozen=True)
class RotatedStatus:
    """A rotated generation still being read: where it was last read, and how far."""

    path: str | None  # None: recorded before names were stored
    offset: int
    size: int | None  # None: gone, or compressed (its size says nothing about the text)


@dataclass(frozen=True)
class FileStatus:
    path: str
    size: int | None  # None: the file is gone
    offset: int | None  # None: not read yet
    behind: int | None  # bytes not yet read
    rotated: tuple[RotatedStatus, ...] = ()  # older generations still being read


@dataclass(frozen=True)
class SourceStatus:
    name: str
    type: str
    files: tuple[FileStatus, ...] = ()
    directory: str | None = None
    markers_pending: int | None = None  # waiting to be read
    markers_unmatched: int | None = None  # read, no rule matched, left in place
    markers_failed: int | None = None  # moved to failed/ with a .reason file


def _positions(conn: sqlite3.Connection, source: str) -> dict[str, str]:
    rows = conn.execute("SELECT key, value FROM positions WHERE source = ?", (source,))
    return {str(key): str(value) for key, value in rows}


def _logfile_status(conn: sqlite3.Connection, name: str, patterns: list[str]) -> SourceStatus:
    stored = _positions(conn, name)
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths += [p for p in found if p not in paths and not os.path.isdir(p)]
    paths += sorted(set(stored) - set(paths))
    files = []
    for path in paths:
        try:
            info: os.stat_result | None = os.stat(path)
        except OSError:
            info = None
        offset: int | None = None
        same_file = False
        try:
            known = json.loads(stored[path])
            if "active" in known:  # {"active": state, "rotated": [states being drained]}
                known = known["active"]
            offset = int(known["offset"])
            same_file = info is not None and (known["dev"], known["ino"]) == (
                info.st_dev,
                info.st_ino,
            )
        except (KeyError, ValueError, TypeError):
            pass
        rotated = tuple(_rotated_status(state) for state in draining(stored.get(path, "")))
        if info is None:
            files.append(FileStatus(path, None, offset, None, rotated))
            continue
        # A different file at a known path (rotated) is read from its start.
        behind = max(info.st_size - offset, 0) if same_file and offset is not None else None
        if offset is not None and not same_file:
            behind, offset = info.st_size, 0
        files.append(FileStatus(path, info.st_size, offset, behind, rotated))
    return SourceStatus(name, "logfile", files=tuple(files))


def _rotated_status(state: FileState) -> RotatedStatus:
    size = None
    if state.where is not None and not compressed_name(state.where):
        try:
            info = os.stat(state.where)
            size = info.st_size if (info.st_dev, info.st_ino) == (state.dev, state.ino) else None
        except OSError:
            pass
    return RotatedStatus(state.where, state.offset, size)


_LEGACY_LEDGER_KEY = re.compile(r"^(?P<name>.+)/\d+:\d+:\d+:[0-9a-f]+$")


def _ledger_name(key: str) -> str:
    """The marker's name in a ledger key: ``name/dev:ino:mtime:digest`` or its relative path."""
    legacy = _LEGACY_LEDGER_KEY.match(key)
    return legacy.group("name") if legacy else key


def _markers_status(conn: sqlite3.Connection, name: str, directory: str) -> SourceStatus:
    from ruleengine.sources.markers.files import FAILED, PROCESSED, ignored  # noqa: PLC0415

    # Markers no rule matched stay in place, recorded in the ledger as "unmatched …".
    unmatched = {
        _ledger_name(key) for key, v in _positions(conn, name).items() if v.startswith("unmatched")
    }

    def names(folder: Path) -> list[str] | None:
        try:
            return [
                entry.name
                for entry in os.scandir(folder)
                if entry.name not in (PROCESSED, FAILED)
                and not ignored(entry.name)
                and not entry.is_dir(follow_symlinks=False)
            ]
        except OSError:
            return None

    base = Path(directory)
    waiting = names(base)
    failed = names(base / FAILED) if (base / FAILED).is_dir() else []
    return SourceStatus(
        name,
        "markers",
        directory=directory,
        markers_pending=None if waiting is None else sum(n not in unmatched for n in waiting),
        markers_unmatched=None if waiting is None else sum(n in unmatched for n in waiting),
        markers_failed=None if failed is None else len(failed),
    )


def source_status(conn: sqlite3.Connection, specs: Mapping[str, Any]) -> list[SourceStatus]:
    """``specs`` as recorded by the daemon: {name: {"type", "paths" | "directory"}}."""
    out = []
    for name, spec in specs.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "logfile":
            out.append(_logfile_status(conn, name, [str(p) for p in spec.get("paths", [])]))
        elif kind == "markers":
            out.append(_markers_status(conn, name, str(spec.get("directory", ""))))
        else:
            out.append(SourceStatus(name, str(kind)))
    return out


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


def human_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``4d3h``: compact enough for a status line."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
