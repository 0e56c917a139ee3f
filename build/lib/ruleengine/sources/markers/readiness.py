"""When is a marker complete? OS notifications hint (still being written, or closed at this
size and mtime); the settle time decides when they are missing or cannot be trusted."""

from __future__ import annotations

import logging
import os
import stat as stat_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from watchdog.events import FileSystemEvent

from ruleengine.sources.watch import inotify
from ruleengine.sources.watch.dirwatch import DirectoryWatch
from ruleengine.sources.watch.inotify import DirEvent, InotifyWatch

log = logging.getLogger(__name__)
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


def signature(path: str | bytes) -> tuple[int, int] | None:
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


def make_watch(
    callback: Callable[[FileSystemEvent | DirEvent], None], name: str, recursive: bool
) -> DirectoryWatch | InotifyWatch:
    """Raw inotify where it can tell "renamed in" from "created" (Linux, one level)."""
    if not recursive and inotify.available():
        try:
            return InotifyWatch(callback, name)
        except OSError as exc:
            log.debug("inotify unavailable (%s); using watchdog", exc)
    return DirectoryWatch(callback, name)


class Readiness:
    """Hints from the watch thread, sizes seen by the scan, and markers settled in place,
    by relative path."""

    def __init__(self, settle: float, poll: bool, follow_symlinks: bool) -> None:
        self.settle_time = settle
        self.poll = poll
        self.follow_symlinks = follow_symlinks
        self._lock = threading.Lock()  # hints come from the watch thread
        self._hints: dict[str, Hint] = {}  # relpath → what the OS last said about it
        self._seen: dict[str, tuple[int, int, float]] = {}  # size, mtime_ns, stable since
        # Markers left in place (keep, unmatched, could not move) by identity: not reread.
        self._settled: dict[str, tuple[int, int, int]] = {}

    def on_event(self, kind: str, src: str, dest: str | None, rel: Callable[[str], str]) -> bool:
        """Record what a notification says; False when it says nothing new."""
        now = time.monotonic()
        if kind in ("closed", "moved"):
            path = dest if kind == "moved" and dest is not None else src
            hint = Hint("closed", now, signature(path))
            with self._lock:
                if kind == "moved":
                    self._hints.pop(rel(src), None)
                self._hints[rel(path)] = hint
        elif kind == "created" and (sig := signature(src)) and sig[0]:
            # Created with content already in it: renamed or hard-linked in from elsewhere
            # (an open-and-write creation starts empty). A write still going on would be
            # reported within moments and turn this back into "writing", hence the short delay.
            with self._lock:
                self._hints[rel(src)] = Hint("closed", now + LINK_DELAY, sig)
        elif kind in ("created", "modified"):
            with self._lock:
                self._hints[rel(src)] = Hint("writing", now, None)
        elif kind == "deleted":
            with self._lock:
                self._hints.pop(rel(src), None)
        else:  # opened, closed_no_write: nothing changed
            return False
        return True

    def wait_for(self, rel: str, info: os.stat_result) -> float:
        """Seconds before this file may be complete; 0 when it can be read now."""
        sig = (info.st_size, info.st_mtime_ns)
        with self._lock:
            found = self._hints.get(rel)
        hint = "" if found is None else found.state
        if hint == "closed":
            if found is not None and found.signature == sig:
                return max(found.at - time.monotonic(), 0.0)
            hint = "writing"  # changed since that close (rewritten in place): wait for the next
        if not stat_module.S_ISREG(info.st_mode) and not (
            stat_module.S_ISLNK(info.st_mode) and self.follow_symlinks
        ):
            return 0.0  # FIFOs, directories, unfollowed links: never read, never half-written
        now = time.monotonic()
        seen = self._seen.get(rel)
        if seen is None or seen[:2] != sig:
            self._seen[rel] = (*sig, now)
            stable_for = 0.0
        else:
            stable_for = now - seen[2]
        if hint == "writing":
            needed = max(self.settle_time, WRITING_GRACE)  # open for writing: wait for its close
        elif self.poll or time.time() - info.st_mtime < self.settle_time:
            needed = (
                self.settle_time
            )  # a share's clock may differ from ours: trust only what we saw
        else:
            return 0.0  # untouched for longer than the settle time (e.g. there before start)
        return max(needed - stable_for, 0.0)

    def taken(self, rel: str) -> None:
        """The file is being read: what we knew of it is used up."""
        self._seen.pop(rel, None)
        with self._lock:
            self._hints.pop(rel, None)

    def settle(self, rel: str, info: os.stat_result) -> None:
        """Never ready again until it changes (called from the engine thread too)."""
        with self._lock:
            self._settled[rel] = (info.st_ino, info.st_mtime_ns, info.st_size)

    def settled(self, rel: str, info: os.stat_result) -> bool:
        with self._lock:
            return self._settled.get(rel) == (info.st_ino, info.st_mtime_ns, info.st_size)

    def prune(self, present: set[str], started: float) -> list[str]:
        """Forget files that are gone (hints only if older than the scan that missed them);
        returns the settled ones among them."""
        for rel in [r for r in self._seen if r not in present]:
            del self._seen[rel]
        with self._lock:
            stale = [r for r, h in self._hints.items() if r not in present and h.at < started]
            for rel in stale:
                del self._hints[rel]
            gone = [r for r in self._settled if r not in present]
            for rel in gone:
                del self._settled[rel]
        return gone
