"""Read-only source figures for ``status``: offsets and lag of log files (and of rotated
generations still being read), markers waiting, what an http source answered.

Positions are decoded by each source's codec (``sources.logfile.position``,
``sources.markers.ledger``, ``sources.http.counts``), never parsed here.
"""

from __future__ import annotations

import glob
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruleengine.sources.http import counts as http_counts
from ruleengine.sources.journal import cursor as journal_position
from ruleengine.sources.logfile.compressed import compressed_name
from ruleengine.sources.logfile.position import active_offset, draining
from ruleengine.sources.logfile.rotation import FileState
from ruleengine.sources.markers.archive import problem
from ruleengine.sources.markers.ledger import FAILED, PROCESSED, ignored, unmatched_names
from ruleengine.state.positions import read_all


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
    markers_refused: tuple[str, ...] = ()  # processed/ or failed/ the daemon will not use
    journal_at: float | None = None  # realtime of the last journal entry committed
    http: http_counts.Counts | None = None  # what an http source answered since it started


def source_status(conn: sqlite3.Connection, specs: Mapping[str, Any]) -> list[SourceStatus]:
    """``specs`` as recorded by the daemon: {name: {"type", "paths" | "directory"}}."""
    out = []
    for name, spec in specs.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "logfile":
            out.append(_logfile_status(conn, name, [str(p) for p in spec.get("paths", [])]))
        elif kind == "markers":
            out.append(_markers_status(conn, name, spec))
        elif kind == "journal":
            out.append(_journal_status(conn, name, [str(p) for p in spec.get("paths", [])]))
        elif kind == "http":
            figures = http_counts.decode(read_all(conn, name).get(http_counts.KEY))
            where = figures.listen if figures is not None else spec.get("address")
            out.append(SourceStatus(name, "http", directory=where, http=figures))
        else:
            out.append(SourceStatus(name, str(kind)))
    return out


def _logfile_status(conn: sqlite3.Connection, name: str, patterns: list[str]) -> SourceStatus:
    stored = read_all(conn, name)
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
        known = active_offset(stored[path]) if path in stored else None
        offset = None if known is None else known[2]
        same_file = (
            known is not None
            and info is not None
            and known[:2]
            == (
                info.st_dev,
                info.st_ino,
            )
        )
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


def _refused(path: Path, spec: dict[str, Any]) -> str | None:
    """Why the daemon would refuse this processed/ or failed/ (``sources.markers.archive``),
    for the user it recorded; older records without one: only kind and mode are checked."""
    try:
        info = path.lstat()
    except OSError:
        return None
    uid = spec.get("uid")
    return problem(info, uid if isinstance(uid, int) else info.st_uid)


def _rotated_status(state: FileState) -> RotatedStatus:
    size = None
    if state.where is not None and not compressed_name(state.where):
        try:
            info = os.stat(state.where)
            size = info.st_size if (info.st_dev, info.st_ino) == (state.dev, state.ino) else None
        except OSError:
            pass
    return RotatedStatus(state.where, state.offset, size)


def _markers_status(conn: sqlite3.Connection, name: str, spec: dict[str, Any]) -> SourceStatus:
    # Markers no rule matched stay in place, recorded in the ledger as "unmatched …".
    unmatched = unmatched_names(read_all(conn, name))
    directory = str(spec.get("directory", ""))

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

    waiting = names(Path(directory))
    archive = Path(str(spec.get("archive_dir") or directory))
    refused = {f: why for f in (PROCESSED, FAILED) if (why := _refused(archive / f, spec))}
    failed = (
        names(archive / FAILED) if (archive / FAILED).is_dir() and FAILED not in refused else []
    )
    return SourceStatus(
        name,
        "markers",
        directory=directory,
        markers_pending=None if waiting is None else sum(n not in unmatched for n in waiting),
        markers_unmatched=None if waiting is None else sum(n in unmatched for n in waiting),
        markers_failed=None if failed is None else len(failed),
        markers_refused=tuple(f"{archive / f} {why}" for f, why in refused.items()),
    )


def _journal_status(conn: sqlite3.Connection, name: str, paths: list[str]) -> SourceStatus:
    where = ", ".join(paths) or "the local journal"
    value = read_all(conn, name).get(journal_position.KEY)
    try:
        saved = journal_position.decode(value) if value is not None else None
    except ValueError:
        saved = None
    at = journal_position.Cursor.parse(saved).realtime if saved is not None else None
    return SourceStatus(name, "journal", directory=where, journal_at=at)
