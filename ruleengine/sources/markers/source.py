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
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent

from ruleengine.config.sources import MarkersSource as MarkersSettings
from ruleengine.model import Batch, Event, Position, stable_id
from ruleengine.rules.patterns import match_name, name_pattern
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.markers.event import Ledger, marker_event
from ruleengine.sources.markers.files import (
    FAILED,
    PROCESSED,
    ignored,
    move_unique,
    read_marker,
)
from ruleengine.sources.markers.payload import BadMarker
from ruleengine.sources.watch import inotify
from ruleengine.sources.watch.dirwatch import DirectoryWatch
from ruleengine.sources.watch.inotify import DirEvent, InotifyWatch

__all__ = ["MarkersSource"]

log = logging.getLogger(__name__)
RESCAN = 2.0  # the safety net when OS notifications are used: a full look every so often
WRITING_GRACE = 30.0  # an open-for-write file whose close we never heard of is read after this
LINK_DELAY = 0.1  # a file that appeared with content is read this long after it appeared


@dataclass(frozen=True)
class Hint:
    """What a notification said about a file: still being written, or closed at this size and
    mtime (a later in-place rewrite changes them, so the close no longer vouches for the file).
    """

    state: str  # writing | closed
    at: float  # monotonic time of the notification (of readiness, for "closed")
    signature: tuple[int, int] | None  # (size, mtime_ns) when closed


def _signature(path: str | bytes) -> tuple[int, int] | None:
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


def _make_watch(
    callback: Callable[[FileSystemEvent | DirEvent], None], name: str, recursive: bool
) -> DirectoryWatch | InotifyWatch:
    """Raw inotify where it can tell "renamed in" from "created" (Linux, one level)."""
    if not recursive and inotify.available():
        try:
            return InotifyWatch(callback, name)
        except OSError as exc:
            log.debug("inotify unavailable (%s); using watchdog", exc)
    return DirectoryWatch(callback, name)


class MarkersSource:
    def __init__(self, settings: MarkersSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.store = context.store
        self.directory = Path(context.resolve(settings.directory)).absolute()
        self._patterns = [name_pattern(p) for p in settings.patterns]
        self._lock = threading.Lock()  # guards _hints and _inflight (watch + engine threads)
        self._hints: dict[str, Hint] = {}  # relpath → what the OS last said about it
        self._inflight: set[str] = set()  # emitted, not yet committed and finished
        # Markers left in place (keep, unmatched, could not move) by identity: not reread.
        self._settled: dict[str, tuple[int, int, int]] = {}
        self._seen: dict[str, tuple[int, int, float]] = {}  # size, mtime_ns, stable since
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch = (
            None if settings.poll else _make_watch(self._on_event, context.name, settings.recursive)
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
        kind = event.event_type
        now = time.monotonic()
        if kind in ("closed", "moved"):
            path = event.dest_path if kind == "moved" else event.src_path
            hint = Hint("closed", now, _signature(path))
            with self._lock:
                if kind == "moved":
                    self._hints.pop(self._rel(event.src_path), None)
                self._hints[self._rel(path)] = hint
        elif kind == "created" and (signature := _signature(event.src_path)) and signature[0]:
            # Created with content already in it: renamed or hard-linked in from elsewhere
            # (an open-and-write creation starts empty). A write still going on would be
            # reported within moments and turn this back into "writing", hence the short delay.
            with self._lock:
                self._hints[self._rel(event.src_path)] = Hint("closed", now + LINK_DELAY, signature)
        elif kind in ("created", "modified"):
            with self._lock:
                self._hints[self._rel(event.src_path)] = Hint("writing", now, None)
        elif kind == "deleted":
            with self._lock:
                self._hints.pop(self._rel(event.src_path), None)
        else:  # opened, closed_no_write: nothing changed
            return
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
        for key in self.store.positions(self.name):
            if not (self.directory / key).is_file():
                self.store.forget_position(self.name, key)

    # -- finding complete markers -----------------------------------------------------------

    def _walk(self, directory: Path, prefix: str) -> Iterator[tuple[str, Path, os.stat_result]]:
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            log.warning("source %s: cannot list %s: %s", self.name, directory, exc.strerror)
            self._incomplete = True
            return
        for entry in entries:
            name = entry.name
            if ignored(name) or (not prefix and name in (PROCESSED, FAILED)):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished meanwhile
            if self.settings.recursive and stat_module.S_ISDIR(info.st_mode):
                yield from self._walk(Path(entry.path), f"{prefix}{name}/")
                continue
            if self._patterns and not any(match_name(p, name) is not None for p in self._patterns):
                continue
            yield f"{prefix}{name}", Path(entry.path), info

    def _scan(self) -> float:
        """Consume every complete marker; returns seconds until a waiting file is due."""
        started = time.monotonic()
        self._incomplete = False
        found = sorted(self._walk(self.directory, ""), key=lambda f: (f[2].st_mtime_ns, f[0]))
        present = {rel for rel, _, _ in found}
        due = RESCAN
        for rel, path, info in found:
            if self._stop.is_set():
                break
            with self._lock:
                if rel in self._inflight:
                    continue
            if self._is_settled(rel, info):
                continue
            wait = self._wait_for(rel, info)
            if wait > 0:
                due = min(due, wait)
                continue
            self._seen.pop(rel, None)
            with self._lock:
                self._hints.pop(rel, None)
            self._consume(rel, path, info)
        if not self._incomplete:  # a listing that failed says nothing about what is gone
            self._prune(present, started)
        return due

    def _wait_for(self, rel: str, info: os.stat_result) -> float:
        """Seconds before this file may be complete; 0 when it can be read now."""
        settle = self.settings.settle
        signature = (info.st_size, info.st_mtime_ns)
        with self._lock:
            found = self._hints.get(rel)
        hint = "" if found is None else found.state
        if hint == "closed":
            if found is not None and found.signature == signature:
                return max(found.at - time.monotonic(), 0.0)
            hint = "writing"  # changed since that close (rewritten in place): wait for the next
        if not stat_module.S_ISREG(info.st_mode) and not (
            stat_module.S_ISLNK(info.st_mode) and self.settings.follow_symlinks
        ):
            return 0.0  # FIFOs, directories, unfollowed links: never read, never half-written
        now = time.monotonic()
        seen = self._seen.get(rel)
        if seen is None or seen[:2] != signature:
            self._seen[rel] = (*signature, now)
            stable_for = 0.0
        else:
            stable_for = now - seen[2]
        if hint == "writing":
            needed = max(settle, WRITING_GRACE)  # open for writing: wait for its close
        elif self.settings.poll or time.time() - info.st_mtime < settle:
            needed = settle  # a share's clock may differ from ours: trust only what we saw
        else:
            return 0.0  # untouched for longer than the settle time (e.g. there before start)
        return max(needed - stable_for, 0.0)

    def _is_settled(self, rel: str, info: os.stat_result) -> bool:
        with self._lock:
            return self._settled.get(rel) == (info.st_ino, info.st_mtime_ns, info.st_size)

    def _settle(self, rel: str, info: os.stat_result) -> None:
        """Leave this marker alone until it changes (kept, unmatched, or cannot be moved)."""
        with self._lock:
            self._settled[rel] = (info.st_ino, info.st_mtime_ns, info.st_size)

    def _prune(self, present: set[str], started: float) -> None:
        """Forget what we knew of files that are gone, including the ledger row of a kept
        marker: the same content dropped again later is a new marker."""
        for rel in [r for r in self._seen if r not in present]:
            del self._seen[rel]
        with self._lock:
            gone = [r for r in self._settled if r not in present]
            for rel in gone:
                del self._settled[rel]
        for rel in gone:
            if not os.path.lexists(self.directory / rel):
                self.store.forget_position(self.name, rel)
        with self._lock:
            stale = [r for r, h in self._hints.items() if r not in present and h.at < started]
            for rel in stale:
                del self._hints[rel]

    # -- consuming -----------------------------------------------------------------------------

    def _consume(self, rel: str, path: Path, info: os.stat_result) -> None:
        settings = self.settings
        try:
            raw = read_marker(path, info, settings.max_size, settings.follow_symlinks)
        except FileNotFoundError:
            return  # finished (archived, deleted) since the directory was listed
        except BadMarker as exc:
            self._fail(rel, path, info, str(exc))
            return
        digest = hashlib.sha256(raw).hexdigest()
        known = Ledger.decode(self.store.position(self.name, rel))
        if known is not None and known.sent(digest, info.st_mtime_ns, settings.after == "keep"):
            # Sent before (a crash came before the file was moved, or `keep`): finish only.
            self._finish(rel, path, info, matched=True, sent_before=True)
            return
        try:
            event = marker_event(self.name, rel, path, raw, info, preferred=settings.format)
        except BadMarker as exc:
            self._fail(rel, path, info, str(exc))
            return
        ledger = Ledger("consumed", digest, info.st_mtime_ns)
        self._send(
            Batch(
                (event,),
                (Position(self.name, rel, ledger.encode()),),
                lambda matched: self._finish(rel, path, info, matched, ledger=ledger),
            ),
            rel,
        )

    def _send(self, batch: Batch, rel: str) -> None:
        assert self._emit is not None, "start() sets the emitter"  # noqa: S101 - invariant
        with self._lock:
            self._inflight.add(rel)
        self._emit(batch)  # blocks while the engine is behind: back-pressure, not memory

    def _finish(
        self,
        rel: str,
        path: Path,
        info: os.stat_result,
        matched: bool,
        *,
        ledger: Ledger | None = None,
        sent_before: bool = False,
    ) -> None:
        """After the commit: archive/delete/keep (matched) or apply the unmatched policy."""
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
                    if ledger is not None:
                        unmatched = Ledger("unmatched", ledger.digest, ledger.mtime_ns)
                        self.store.commit((), (Position(self.name, rel, unmatched.encode()),))
                else:
                    log.info("source %s: no rule selected marker %s; %sd", self.name, rel, action)
            self._after(rel, path, info, action, sent_before)
        finally:
            with self._lock:
                self._inflight.discard(rel)

    def _after(
        self, rel: str, path: Path, info: os.stat_result, action: str, sent_before: bool
    ) -> None:
        if action == "keep":
            self._settle(rel, info)
            return
        try:
            if action == "delete":
                path.unlink(missing_ok=True)
            else:
                move_unique(path, (self.directory / PROCESSED / rel).parent)
        except OSError as exc:
            log.error(
                "source %s: cannot %s %s: %s; it stays (not sent again) until the next start",
                self.name,
                action,
                rel,
                exc.strerror,
            )
            self._settle(rel, info)
            return
        if sent_before:
            log.info("source %s: %s was sent before a restart; %sd now", self.name, rel, action)
        self.store.forget_position(self.name, rel)

    # -- bad markers ---------------------------------------------------------------------------

    def _fail(self, rel: str, path: Path, info: os.stat_result, reason: str) -> None:
        """Move a bad marker to failed/ (after its failure event is durable, when reported)."""
        if not self.settings.report_failed:
            self._move_failed(rel, path, info, reason)
            return
        event = Event(
            id=stable_id(self.name, "failed", rel, info.st_mtime_ns, info.st_size, reason),
            source=self.name,
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

        def moved(_matched: bool) -> None:
            try:
                self._move_failed(rel, path, info, reason)
            finally:
                with self._lock:
                    self._inflight.discard(rel)

        self._send(Batch((event,), (), moved), rel)

    def _move_failed(self, rel: str, path: Path, info: os.stat_result, reason: str) -> None:
        try:
            moved = move_unique(path, (self.directory / FAILED / rel).parent, reason)
        except OSError as exc:
            log.error(
                "source %s: bad marker %s (%s) and cannot move it to %s/: %s",
                self.name,
                rel,
                reason,
                FAILED,
                exc.strerror,
            )
            self._settle(rel, info)
            return
        log.error("source %s: bad marker %s: %s; moved to %s", self.name, rel, reason, moved)
