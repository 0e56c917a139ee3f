"""Tail log files and globs: each complete line (or multi-line group) is one event.

The source's thread scans the configured paths (woken by a directory watch, or polling), has
the ``tracker`` notice what changed at each (rotation, truncation, a new file), and reads what
it holds: rotated generations to their end first, then the file at the path, pausing while too
many batches are uncommitted (``flow``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path

from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.logfile import compressed
from ruleengine.sources.logfile.flow import Flow
from ruleengine.sources.logfile.generations import DONE_KEPT, Followed
from ruleengine.sources.logfile.paths import Patterns
from ruleengine.sources.logfile.tailer import Chunk, Tail, TailOptions
from ruleengine.sources.logfile.tracker import Tracker
from ruleengine.sources.watch.dirwatch import watch_directories

log = logging.getLogger(__name__)
RESCAN = 2.0  # safety rescan with inotify; the watch normally wakes the source at once
FALLBACK_POLL = 1.0  # when the OS refuses to watch (inotify limits reached)
DEBOUNCE = 0.002  # merges bursts of change events without delaying a lone line
ROTATED_IDLE = 10.0  # a rotated file is drained until it has not grown for this long


class LogfileSource:
    """The ``logfile`` source. Its batches must reach an engine that commits them and calls
    ``on_committed``: reading pauses while too many are uncommitted (bounded memory)."""

    def __init__(self, settings: LogfileSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.positions = context.positions
        self.patterns = [str(context.resolve(p)) for p in settings.paths]
        self.options = TailOptions(
            source=context.name,
            encoding=settings.encoding,
            max_line=settings.max_line,
            multiline=(
                (re.compile(settings.multiline.start), settings.multiline.timeout)
                if settings.multiline is not None
                else None
            ),
        )
        self.interval = settings.poll if settings.poll is not None else RESCAN
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paths = Patterns(context.name, self.patterns)
        self._tracker = Tracker(settings, context, self.options, self._paths, self._save)
        self._flow = Flow()
        self._thread: threading.Thread | None = None
        self._watch = (
            None
            if settings.poll is not None
            else watch_directories(lambda _event: self._wake.set(), context.name)
        )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, emit: Emit) -> None:
        """Restore positions and open the files; reading happens on the source's thread."""
        self._flow.emit = emit
        self._tracker.restore()
        if self._watch is not None:
            for pattern in self.patterns:
                self._watch.add(Path(pattern).parent)
            if not self._watch.start():
                log.warning("source %s: polling every %gs instead", self.name, FALLBACK_POLL)
                self._watch.stop()
                self._watch = None
                self.interval = FALLBACK_POLL
        self._scan(startup=True)
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading; unfinished lines and open groups are re-read after a restart."""
        self._stop.set()
        self._wake.set()
        self._flow.stop()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(10.0)
        self._tracker.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._scan()
            except Exception:
                log.exception("source %s: scan failed; will retry", self.name)
            self._wake.wait(self._timeout())
            self._wake.clear()
            if self._watch is not None:
                self._stop.wait(DEBOUNCE)

    def _timeout(self) -> float:
        """Sleep until the next rescan or the next multi-line timeout, whichever is first."""
        timeout = self.interval
        now = time.monotonic()
        for followed in self._tracker.followed.values():
            for tail in followed.rotated:
                timeout = min(timeout, max(0.0, tail.idle_since + ROTATED_IDLE - now) + 0.01)
            for tail in followed.tails():
                if tail.grouper is not None and tail.grouper.open_start is not None:
                    timeout = min(timeout, max(0.0, tail.grouper.deadline - now) + 0.01)
        return timeout

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, startup: bool = False) -> None:
        seen = dict(self._paths.files(self._watch.add if self._watch else None))
        self._tracker.matched(seen)
        for path in [*seen, *(p for p in self._tracker.followed if p not in seen)]:
            if self._stop.is_set():
                return
            followed = self._tracker.follow(path, seen.get(path, False))
            self._tracker.check(followed, startup)
            if not startup:
                self._drain(followed)
            self._tracker.drop_if_gone(followed, path in seen)

    # -- reading --------------------------------------------------------------------------

    def _drain(self, followed: Followed) -> None:
        """Read rotated generations (older lines) first, then the file at the path."""
        now = time.monotonic()
        for tail in list(followed.rotated):
            self._read(followed, tail)
            if self._stop.is_set():
                return
            if now - tail.idle_since >= ROTATED_IDLE:
                followed.rotated.remove(tail)
                tail.close()
                events = tail.finish()
                followed.done = [*followed.done, tail.current()][-DONE_KEPT:]
                self._send(followed, events)
        if followed.active is not None:
            self._read(followed, followed.active)
        for tail in followed.tails():
            events = tail.due(now)
            if events:
                self._send(followed, events)

    def _read(self, followed: Followed, tail: Tail) -> None:
        while not self._stop.is_set():
            try:
                if tail is followed.active and self._truncated_since_check(tail):
                    return  # the next check reads the rest from the copy
                events = tail.read_chunk()
            except compressed.ERRORS as exc:
                log.warning("source %s: cannot read %s: %s", self.name, tail.path, exc)
                return
            if events is None:
                return
            self._send(followed, events)
            self._flow.wait()

    @staticmethod
    def _truncated_since_check(tail: Tail) -> bool:
        """copytruncate while we were reading: the writer's next lines, at the start of the
        file, would be read as the continuation of the old content once it regrows past
        our offset. Checked before each chunk, so that window is a single read."""
        return os.fstat(tail.handle.fileno()).st_size < tail.read_pos or tail.head_changed()

    def _send(self, followed: Followed, chunk: Chunk) -> None:
        self._flow.send(chunk, followed.position(self.name))

    def _save(self, followed: Followed) -> None:
        self._send(followed, [])
