"""Marker drop directories: each file dropped in becomes one event, consumed exactly once.

Per marker: wait until it is complete → read → enqueue its notifications and record it in the
ledger (one transaction, done by the engine) → delete/archive/keep. A crash between the last two
leaves a file the ledger recognises (name + content hash + mtime), so it is finished without
being sent again. Bad markers go to ``failed/`` with a ``.reason`` file; nothing else stops.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from watchdog.events import FileSystemEvent

from ruleengine.config.sources import MarkersSource as MarkersSettings
from ruleengine.model import Batch, Position
from ruleengine.rules.patterns import match_name, name_pattern
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.markers.archive import Archive
from ruleengine.sources.markers.dirfd import Listed, lexists, parent_of
from ruleengine.sources.markers.event import failed_event, marker_event
from ruleengine.sources.markers.files import read_marker, walk
from ruleengine.sources.markers.ledger import FAILED, PROCESSED, Ledger
from ruleengine.sources.markers.payload import BadMarker
from ruleengine.sources.markers.readiness import Readiness, make_watch
from ruleengine.sources.watch.inotify import DirEvent

__all__ = ["MarkersSource"]

log = logging.getLogger(__name__)
RESCAN = 2.0  # the safety net when OS notifications are used: a full look every so often


class MarkersSource:
    def __init__(self, settings: MarkersSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.ledger = context.positions
        self.directory = Path(context.resolve(settings.directory)).absolute()
        base = settings.archive_dir
        self.archive = Archive(
            self.directory, self.directory if base is None else Path(context.resolve(base))
        )
        self._patterns = [name_pattern(p) for p in settings.patterns]
        self._ready = Readiness(settings.settle, bool(settings.poll), settings.follow_symlinks)
        self._lock = threading.Lock()  # guards _inflight (source + engine threads)
        self._inflight: set[str] = set()  # emitted, not yet committed and finished
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch = (
            None if settings.poll else make_watch(self._on_event, context.name, settings.recursive)
        )
        self._warned_missing = False
        self._incomplete = False  # a directory listing failed during the current scan
        self._emit: Emit | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, emit: Emit) -> None:
        self._emit = emit
        if self._watch is not None:
            self._watch_directory()
            self._watch.start()
        self._forget_vanished()
        archives = "archive" in (self.settings.after, self.settings.unmatched)
        for problem in self.archive.problems((PROCESSED, FAILED) if archives else (FAILED,)):
            log.error("source %s: %s", self.name, problem)  # checked again at each use
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(10.0)

    def _watch_directory(self) -> bool:
        ok = self.directory.is_dir()
        if ok and self._watch is not None:
            ok = self._watch.add(self.directory, recursive=self.settings.recursive)
        if not ok and not self._warned_missing:
            log.warning("source %s: waiting for directory %s", self.name, self.directory)
        self._warned_missing = not ok
        return ok

    def _on_event(self, event: FileSystemEvent | DirEvent) -> None:
        """OS notifications only hint at readiness; the scan decides (and catches lost ones)."""
        if event.is_directory:
            self._wake.set()
            return
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(getattr(event, "dest_path", "") or "") or None
        if self._ready.on_event(event.event_type, src, dest, self._rel):
            self._wake.set()

    def _rel(self, path: str | bytes) -> str:
        try:
            return Path(os.fsdecode(path)).relative_to(self.directory).as_posix()
        except ValueError:
            return ""

    def _run(self) -> None:
        interval = self.settings.poll or RESCAN
        while not self._stop.is_set():
            wait = interval
            try:
                if self._watch_directory():
                    wait = min(interval, self._scan())
            except Exception:
                log.exception("source %s: scan failed; will retry", self.name)
            self._wake.wait(max(wait, 0.05))
            self._wake.clear()

    def _forget_vanished(self) -> None:
        """Ledger entries of markers that are gone (archived, deleted) are no longer needed."""
        for key in self.ledger.all():
            if not lexists(self.directory, key):
                self.ledger.forget(key)

    # -- finding complete markers -----------------------------------------------------------

    def _walk(self) -> Iterator[Listed]:
        def unlisted(where: Path, exc: OSError) -> None:
            log.warning("source %s: cannot list %s: %s", self.name, where, exc.strerror)
            self._incomplete = True

        def wanted(name: str) -> bool:
            return not self._patterns or any(
                match_name(p, name) is not None for p in self._patterns
            )

        return walk(self.directory, self.settings.recursive, wanted, unlisted)

    def _scan(self) -> float:
        """Consume every complete marker; returns seconds until a waiting file is due."""
        started = time.monotonic()
        self._incomplete = False
        found = sorted(self._walk(), key=lambda f: (f.info.st_mtime_ns, f.rel))
        present = {listed.rel for listed in found}
        due = RESCAN
        for listed in found:
            rel, info = listed.rel, listed.info
            if self._stop.is_set():
                break
            with self._lock:
                if rel in self._inflight:
                    continue
            if self._ready.settled(rel, info):
                continue
            wait = self._ready.wait_for(rel, info)
            if wait > 0:
                due = min(due, wait)
                continue
            self._ready.taken(rel)
            self._consume(listed)
        if not self._incomplete:  # a listing that failed says nothing about what is gone
            self._prune(present, started)
        return due

    def _prune(self, present: set[str], started: float) -> None:
        """Forget what we knew of files that are gone, including the ledger row of a kept
        marker: the same content dropped again later is a new marker."""
        for rel in self._ready.prune(present, started):
            if not lexists(self.directory, rel):
                self.ledger.forget(rel)

    # -- consuming -----------------------------------------------------------------------------

    def _consume(self, listed: Listed) -> None:
        settings, rel, info = self.settings, listed.rel, listed.info
        try:
            with parent_of(self.directory, listed) as parent:
                raw = read_marker(parent, listed, settings.max_size, settings.follow_symlinks)
        except FileNotFoundError:
            return  # finished, deleted or replaced since the directory was listed
        except BadMarker as exc:
            self._fail(listed, str(exc))
            return
        except OSError as exc:  # a directory on the way cannot be opened
            log.warning("source %s: cannot read %s: %s", self.name, rel, exc.strerror)
            self._ready.settle(rel, info)
            return
        digest = hashlib.sha256(raw).hexdigest()
        known = Ledger.decode(self.ledger.get(rel))
        if known is not None and known.sent(digest, info.st_mtime_ns, settings.after == "keep"):
            # Sent before (a crash came before the file was moved, or `keep`): finish only.
            self._finish(listed, matched=True, sent_before=True)
            return
        path = self.directory / rel
        try:
            event = marker_event(self.name, rel, path, raw, info, preferred=settings.format)
        except BadMarker as exc:
            self._fail(listed, str(exc))
            return
        consumed = Ledger("consumed", digest, info.st_mtime_ns).encode()
        # A marker left in place unmatched is recorded as such: evaluated again when it is
        # seen next (rules may have changed), never taken for sent.
        unmatched = Ledger("unmatched", digest, info.st_mtime_ns).encode()
        position = Position(
            self.name, rel, consumed, unmatched if settings.unmatched == "keep" else None
        )
        self._send(Batch((event,), (position,), lambda matched: self._finish(listed, matched)), rel)

    def _send(self, batch: Batch, rel: str) -> None:
        assert self._emit is not None, "start() sets the emitter"  # noqa: S101 - invariant
        with self._lock:
            self._inflight.add(rel)
        self._emit(batch)  # blocks while the engine is behind: back-pressure, not memory

    def _finish(self, listed: Listed, matched: bool, *, sent_before: bool = False) -> None:
        """After the commit: archive/delete/keep (matched) or apply the unmatched policy."""
        rel = listed.rel
        try:
            if matched:
                action = self.settings.after
            else:
                action = self.settings.unmatched
                if action == "keep":
                    log.warning(
                        "source %s: no rule selected marker %s; left in place "
                        "(set unmatched: archive or delete to move such markers on)",
                        self.name,
                        rel,
                    )
                else:
                    log.info("source %s: no rule selected marker %s; %sd", self.name, rel, action)
            self._after(listed, action, sent_before)
        finally:
            with self._lock:
                self._inflight.discard(rel)

    def _after(self, listed: Listed, action: str, sent_before: bool) -> None:
        rel = listed.rel
        if action == "keep":
            self._ready.settle(rel, listed.info)
            return
        try:
            if action == "delete":
                self.archive.delete(listed)
            else:
                self.archive.move(listed, PROCESSED)
        except FileNotFoundError:
            pass  # gone or replaced meanwhile: nothing of ours left to move
        except OSError as exc:
            log.error(
                "source %s: cannot %s %s: %s; it stays (not sent again) until the next start",
                self.name,
                action,
                rel,
                exc.strerror,
            )
            self._ready.settle(rel, listed.info)
            return
        if sent_before:
            log.info("source %s: %s was sent before a restart; %sd now", self.name, rel, action)
        self.ledger.forget(rel)

    # -- bad markers ---------------------------------------------------------------------------

    def _fail(self, listed: Listed, reason: str) -> None:
        """Move a bad marker to failed/ (after its failure event is durable, when reported)."""
        if not self.settings.report_failed:
            self._move_failed(listed, reason)
            return
        rel = listed.rel
        event = failed_event(self.name, rel, self.directory / rel, listed.info, reason)

        def moved(_matched: bool) -> None:
            try:
                self._move_failed(listed, reason)
            finally:
                with self._lock:
                    self._inflight.discard(rel)

        self._send(Batch((event,), (), moved), rel)

    def _move_failed(self, listed: Listed, reason: str) -> None:
        rel = listed.rel
        try:
            moved = self.archive.move(listed, FAILED, reason)
        except FileNotFoundError:
            return  # gone or replaced meanwhile: the next scan sees what is there now
        except OSError as exc:
            log.error(
                "source %s: bad marker %s (%s) and cannot move it to %s/: %s",
                self.name,
                rel,
                reason,
                FAILED,
                exc.strerror,
            )
            self._ready.settle(rel, listed.info)
            return
        log.error("source %s: bad marker %s: %s; moved to %s", self.name, rel, reason, moved)
