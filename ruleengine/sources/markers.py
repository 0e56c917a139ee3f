"""Marker drop directories: each file dropped in becomes one event, consumed exactly once.

Order of operations per marker: read → enqueue its notifications and record it in the ledger
(one transaction) → archive/delete. A crash between the last two leaves a file the ledger
recognises, so it is finished without being sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat as stat_module
import threading
import time
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent

from ruleengine.config.sources import MarkersSource as MarkersSettings
from ruleengine.model import Batch, Event, Position, stable_id
from ruleengine.sources import Emit, SourceContext
from ruleengine.sources.watch import DirectoryWatch

log = logging.getLogger(__name__)
RESCAN = 2.0
SETTLE = 2.0  # seconds without change before a file nobody told us was closed is read
PROCESSED, FAILED = "processed", "failed"
_IGNORED_SUFFIXES = (".tmp", ".part", "~", ".swp", ".reason")


class BadMarker(Exception):
    """A marker that cannot become an event; it goes to failed/ with this reason."""


def ignored(name: str) -> bool:
    """Hidden and temporary names are never read: writers are still busy with them."""
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


def decode(raw: bytes) -> str:
    """Text of a marker: UTF-8 (BOM optional) or UTF-16 with a BOM (PowerShell 5.1)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise BadMarker("invalid UTF-16 text") from None
    if b"\x00" in raw:
        raise BadMarker("binary content (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadMarker(f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def parse(text: str) -> dict[str, Any]:
    """Fields of a marker: a JSON object, or plain text as ``content``/``lines``."""
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise BadMarker(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise BadMarker("JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise BadMarker("JSON marker must hold an object, not a " + type(data).__name__)
        return data
    return {"content": text.replace("\r\n", "\n"), "lines": stripped.splitlines()}


class MarkersSource:
    def __init__(self, settings: MarkersSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.store = context.store
        self.directory = Path(context.resolve(settings.directory))
        self._closed: set[str] = set()  # names the OS said were closed or moved in
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch = DirectoryWatch(self._on_event, context.name)
        self._warned_missing = False
        # Markers left in place (keep, unmatched) by identity, so a rescan does not reread them.
        self._settled: dict[str, tuple[int, int, int]] = {}
        self._inflight: set[str] = set()  # emitted, not yet committed and finished

    def start(self, emit: Emit) -> None:
        self._emit = emit
        self._watch_directory()
        self._watch.start()
        self._forget_vanished()
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._watch.stop()
        if self._thread is not None:
            self._thread.join(10.0)

    def _watch_directory(self) -> bool:
        if self._watch.add(self.directory):
            return True
        if not self._warned_missing:
            log.warning("source %s: waiting for directory %s", self.name, self.directory)
            self._warned_missing = True
        return False

    def _on_event(self, event: FileSystemEvent) -> None:
        path = event.dest_path if event.event_type == "moved" else event.src_path
        if event.event_type in ("closed", "moved") and not event.is_directory:
            target = Path(os.fsdecode(path))
            if target.parent == self.directory:
                with self._lock:
                    self._closed.add(target.name)
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._watch_directory():
                    self._scan()
            except Exception:
                log.exception("source %s: scan failed; will retry", self.name)
            self._wake.wait(RESCAN)
            self._wake.clear()

    def _forget_vanished(self) -> None:
        """Ledger entries of markers that are gone (archived or deleted) are no longer needed."""
        for key in self.store.positions(self.name):
            name = key.split("/", 1)[0]
            if not (self.directory / name).exists():
                self.store.forget_position(self.name, key)

    def _scan(self) -> None:
        try:
            entries = sorted(os.scandir(self.directory), key=lambda e: e.name)
        except OSError as exc:
            log.warning("source %s: cannot list %s: %s", self.name, self.directory, exc.strerror)
            return
        now = time.time()
        for entry in entries:
            if self._stop.is_set():
                return
            name = entry.name
            if ignored(name) or name in (PROCESSED, FAILED):
                continue
            with self._lock:
                closed = name in self._closed
                self._closed.discard(name)
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if self._settled.get(name) == (info.st_ino, info.st_mtime_ns, info.st_size):
                continue
            with self._lock:
                if name in self._inflight:
                    continue
            if not closed and stat_module.S_ISREG(info.st_mode) and now - info.st_mtime < SETTLE:
                self._wake.set()  # look again soon: it may still be being written
                continue
            self._consume(Path(entry.path), info)

    def _consume(self, path: Path, info: os.stat_result) -> None:
        try:
            raw = self._read(path, info)
        except BadMarker as exc:
            self._fail(path, str(exc))
            return
        digest = hashlib.sha256(raw).hexdigest()
        key = f"{path.name}/{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}:{digest}"
        state = self.store.position(self.name, key)
        if state is not None:
            if state == "consumed" and self.settings.after != "keep":
                self._finish(path, key, matched=True)  # consumed before a crash: finish only
            else:
                self._settled[path.name] = (info.st_ino, info.st_mtime_ns, info.st_size)
            return
        try:
            fields = parse(decode(raw))
        except BadMarker as exc:
            self._fail(path, str(exc))
            return
        meta = {
            "file": path.name,
            "stem": path.name.split(".", 1)[0],
            "path": str(path),
            "size": info.st_size,
            "mtime": info.st_mtime,
        }
        event = Event(
            id=stable_id(self.name, key),
            source=self.name,
            kind="marker",
            text=raw.decode("utf-8", errors="replace")[:4096],
            time=time.time(),
            fields={**fields, **meta},
        )
        with self._lock:
            self._inflight.add(path.name)
        self._emit(
            Batch(
                (event,),
                (Position(self.name, key, "consumed"),),
                lambda matched: self._finish(path, key, matched, info),
            )
        )

    def _read(self, path: Path, info: os.stat_result) -> bytes:
        if stat_module.S_ISLNK(info.st_mode):
            raise BadMarker("symbolic link (not followed)")
        if not stat_module.S_ISREG(info.st_mode):
            raise BadMarker("not a regular file")
        if info.st_size > self.settings.max_size:
            raise BadMarker(f"larger than max_size ({info.st_size} > {self.settings.max_size})")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise BadMarker(f"cannot open: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(self.settings.max_size + 1)
        if len(raw) > self.settings.max_size:
            raise BadMarker(f"larger than max_size ({self.settings.max_size} bytes)")
        return raw

    def _finish(
        self, path: Path, key: str, matched: bool, info: os.stat_result | None = None
    ) -> None:
        try:
            self._apply_after(path, key, matched, info)
        finally:
            with self._lock:
                self._inflight.discard(path.name)

    def _apply_after(
        self, path: Path, key: str, matched: bool, info: os.stat_result | None
    ) -> None:
        action = self.settings.after
        if (not matched or action == "keep") and info is not None:
            self._settled[path.name] = (info.st_ino, info.st_mtime_ns, info.st_size)
        if not matched:
            log.warning("source %s: no rule matched marker %s; left in place", self.name, path.name)
            self.store.commit((), (Position(self.name, key, "unmatched"),))
            return
        try:
            if action == "delete":
                path.unlink(missing_ok=True)
            elif action == "archive":
                _move_unique(path, self.directory / PROCESSED)
            else:
                return
        except OSError as exc:
            log.error("source %s: cannot %s %s: %s", self.name, action, path.name, exc.strerror)
            return
        self.store.forget_position(self.name, key)

    def _fail(self, path: Path, reason: str) -> None:
        log.error(
            "source %s: bad marker %s: %s; moved to %s/", self.name, path.name, reason, FAILED
        )
        try:
            moved = _move_unique(path, self.directory / FAILED)
            moved.with_name(moved.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        except OSError as exc:
            log.error(
                "source %s: cannot move %s to %s/: %s", self.name, path.name, FAILED, exc.strerror
            )


def _move_unique(path: Path, directory: Path) -> Path:
    """Move ``path`` into ``directory`` without overwriting: ``name``, ``name.1``, ``name.2``…"""
    directory.mkdir(exist_ok=True)
    target = directory / path.name
    counter = 0
    while target.exists() or target.is_symlink():
        counter += 1
        target = directory / f"{path.name}.{counter}"
    os.rename(path, target)
    return target
