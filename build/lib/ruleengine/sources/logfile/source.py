"""Tail log files and globs: each complete line (or multi-line group) is one event.

Every configured path (or glob match) is a key whose persisted position lists the file now at
that path and the rotated generations still being drained. Rotation is detected by identity
(device + inode + head fingerprint): rename+create and delete+recreate leave the old handle open
to be read to its end; copytruncate and inode reuse show as a shrink or a changed head. Whenever
the file at a path changes identity (and after a restart), generations that came and went in
between are looked for among the rotated names (``discover``: the log's directory and the
``rotated:`` places, plain or compressed), and their lines are read first.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import stat as stat_module
import threading
import time
from pathlib import Path

from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.logfile import compressed
from ruleengine.sources.logfile.flow import Flow
from ruleengine.sources.logfile.generations import DONE_KEPT, Followed
from ruleengine.sources.logfile.paths import Patterns
from ruleengine.sources.logfile.position import Stored
from ruleengine.sources.logfile.recover import Recovery
from ruleengine.sources.logfile.rotation import FileState, read_head
from ruleengine.sources.logfile.tailer import (
    Chunk,
    Tail,
    TailOptions,
    end_of_last_line,
    open_generation,
)
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
        self._recovery = Recovery(
            context.name,
            tuple(str(context.resolve(place)) for place in settings.rotated),
            len(self.patterns) == 1 and not glob.has_magic(self.patterns[0]),
            self._open,
            lambda path: self._paths.configured(path)[0],
        )
        self._followed: dict[str, Followed] = {}
        self._known: set[str] = set()  # paths with a position: a new file there starts at 0
        self._aliases: dict[str, tuple[int, int]] = {}  # other names of files already read
        self._unreadable: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paths = Patterns(context.name, self.patterns)
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
        self._restore()
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
        for followed in self._followed.values():
            for tail in followed.tails():
                tail.close()
        self._followed.clear()

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
        for followed in self._followed.values():
            for tail in followed.rotated:
                timeout = min(timeout, max(0.0, tail.idle_since + ROTATED_IDLE - now) + 0.01)
            for tail in followed.tails():
                if tail.grouper is not None and tail.grouper.open_start is not None:
                    timeout = min(timeout, max(0.0, tail.grouper.deadline - now) + 0.01)
        return timeout

    # -- what to follow -------------------------------------------------------------------

    def _restore(self) -> None:
        """Pick up every generation the state database knows, wherever it is now."""
        for path, value in self.positions.all().items():
            wanted, is_glob = self._paths.configured(path)
            if not wanted:
                continue  # no longer configured: leave its record alone
            self._known.add(path)
            try:
                stored = Stored.parse(value)
            except (ValueError, KeyError, TypeError):
                log.warning("source %s: unreadable stored position for %s", self.name, path)
                continue
            followed = Followed(path, is_glob, done=stored.done)
            for state in stored.rotated:
                found = self._recovery.reattach(followed, state, was_rotated=True)
                self._adopt(followed, [found] if found is not None else [])
            if stored.active is not None:
                followed.active = self._resume(path, stored.active)
                if followed.active is None:
                    found = self._recovery.reattach(followed, stored.active, was_rotated=False)
                    self._adopt(followed, [found] if found is not None else [])
            if stored.saved is not None:
                also = [*stored.rotated, *([stored.active] if stored.active else [])]
                self._adopt(followed, self._recovery.unseen(followed, stored.saved, also))
            self._followed[path] = followed
            self._save(followed)

    def _resume(self, path: str, state: FileState) -> Tail | None:
        """The stored file if it is still at its path, unchanged up to the stored offset."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if stat.st_ino != state.ino or stat.st_size < state.offset:
            return None
        return self._open(path, state, shrunk_ok=False, label=path)

    def _adopt(self, followed: Followed, tails: list[Tail]) -> None:
        """Read these rotated generations before the file at the path."""
        for tail in tails:
            followed.rotated.append(tail)
            self._aliases[tail.path] = tail.key

    # -- scanning -------------------------------------------------------------------------

    def _scan(self, startup: bool = False) -> None:
        seen = dict(self._paths.files(self._watch.add if self._watch else None))
        for alias in [path for path in self._aliases if path not in seen]:
            del self._aliases[alias]  # only matched paths are ever looked up
        for path in [*seen, *(p for p in self._followed if p not in seen)]:
            if self._stop.is_set():
                return
            followed = self._followed.get(path)
            if followed is None:
                followed = self._followed[path] = Followed(path, seen.get(path, False))
            self._check(followed, startup)
            if not startup:
                self._drain(followed)
            gone = followed.active is None and not followed.rotated and path not in seen
            if gone and followed.is_glob:
                # A glob match that is gone for good: keep the positions table small.
                del self._followed[path]
                if path in self._known:
                    self.positions.forget(path)
                    self._known.discard(path)

    def _check(self, followed: Followed, startup: bool) -> None:
        """Notice rotation, truncation or a new file at the path."""
        path = followed.path
        now = time.time()
        try:
            stat: os.stat_result | None = os.stat(path)
        except OSError:
            stat = None
        if stat is not None and not stat_module.S_ISREG(stat.st_mode):
            stat = None
        active = followed.active
        if active is not None:
            if stat is None or not active.same_file(stat):
                log.info("source %s: %s was rotated or removed", self.name, path)
                self._recovery.moved_elsewhere(followed, active)
                active.idle_since = time.monotonic()
                followed.rotated.append(active)
                followed.active = None
            elif stat.st_size < active.read_pos or active.head_changed():
                self._truncated(followed, active, now)
            else:
                followed.checked = now
        if followed.active is None and stat is not None:
            identity = (stat.st_dev, stat.st_ino)
            if self._aliases.get(path) == identity or self._already_read(path, stat):
                self._aliases[path] = identity  # a rotated name of a file already read
                return
            self._aliases.pop(path, None)
            # A file that appears while running, or replaces one we had read, is all new.
            offset = (
                self._start_offset(path, stat.st_size) if startup and path not in self._known else 0
            )
            followed.active = self._open(path, None, offset=offset, label=path)
            if followed.active is not None:
                self._known.add(path)
                self._adopt(followed, self._recovery.between(followed, now))
                self._save(followed)

    def _truncated(self, followed: Followed, old: Tail, now: float) -> None:
        """copytruncate (or inode reuse): read what the copy holds beyond our offset, then
        follow the truncated file from its start."""
        state = old.current()
        old.close()
        followed.active = None
        copy = self._recovery.copy_of(followed, state)
        self._adopt(followed, [copy] if copy is not None else [])
        followed.active = self._open(followed.path, None, offset=0, label=followed.path)
        if followed.active is not None:
            self._adopt(followed, self._recovery.between(followed, now))
        self._save(followed)

    def _already_read(self, path: str, stat: os.stat_result) -> bool:
        """Is this file one we hold, or a rotated generation we finished (a glob such as
        ``app.log*`` also matches ``app.log.1``)?"""
        identity = (stat.st_dev, stat.st_ino)
        finished = []
        for followed in self._followed.values():
            if any(tail.key == identity for tail in followed.tails()):
                return True
            finished += [state for state in followed.done if state.ino == stat.st_ino]
        if not finished:
            return False
        try:
            with open(path, "rb") as handle:
                head = read_head(handle)
        except OSError:
            return False
        return any(state.head_matches(head) for state in finished)

    def _start_offset(self, path: str, size: int) -> int:
        """start_at for a file never seen: its end (after its last complete line) or 0."""
        if self.settings.start_at == "beginning":
            return 0
        return end_of_last_line(path, size, self.settings.encoding)

    def _open(
        self,
        path: str,
        state: FileState | None,
        offset: int = 0,
        shrunk_ok: bool = True,
        *,
        label: str,
        packed: bool = False,
    ) -> Tail | None:
        """Open a file as a tail; with ``state``, only if it still starts like that file.
        ``label`` is the configured path its events name, whatever the file is called now;
        ``packed``: a compressed generation, read as the bytes it holds."""
        try:
            tail = open_generation(
                path, state, offset, shrunk_ok, self.options, label, packed=packed
            )
        except OSError as exc:
            if path not in self._unreadable:  # once, not at every rescan
                log.warning("source %s: cannot open %s: %s", self.name, path, exc.strerror)
                self._unreadable.add(path)
            return None
        self._unreadable.discard(path)
        return tail

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
