"""What each path a logfile source follows holds, kept current: the file there now and the
rotated generations still to be drained, restored from the stored positions at start and
checked at every scan. The source's thread reads what this holds; this opens and closes.

Rotation is detected by identity (device + inode + head fingerprint): rename+create and
delete+recreate leave the old handle open to be read to its end; copytruncate and inode reuse
show as a shrink or a changed head. Whenever the file at a path changes identity (and after a
restart), generations that came and went in between are looked for among the rotated names
(``recover``), and their lines are read first.
"""

from __future__ import annotations

import glob
import logging
import os
import stat as stat_module
import time
from collections.abc import Callable

from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.sources.base import SourceContext
from ruleengine.sources.logfile.generations import Followed
from ruleengine.sources.logfile.paths import Patterns
from ruleengine.sources.logfile.position import Stored
from ruleengine.sources.logfile.recover import Recovery
from ruleengine.sources.logfile.rotation import FileState, read_head
from ruleengine.sources.logfile.tailer import Tail, TailOptions, end_of_last_line, open_generation

log = logging.getLogger(__name__)


class Tracker:
    """One source's followed paths; ``save`` hands a path's position to the engine."""

    def __init__(
        self,
        settings: LogfileSettings,
        context: SourceContext,
        options: TailOptions,
        paths: Patterns,
        save: Callable[[Followed], None],
    ) -> None:
        self.name = context.name
        self.settings = settings
        self.positions = context.positions
        self.options = options
        self.followed: dict[str, Followed] = {}
        self._paths = paths
        self._save = save
        self._known: set[str] = set()  # paths with a position: a new file there starts at 0
        self._aliases: dict[str, tuple[int, int]] = {}  # other names of files already read
        self._unreadable: set[str] = set()
        self._recovery = Recovery(
            context.name,
            tuple(str(context.resolve(place)) for place in settings.rotated),
            len(paths.patterns) == 1 and not glob.has_magic(paths.patterns[0]),
            self._open,
            lambda path: paths.configured(path)[0],
        )

    def restore(self) -> None:
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
            self.followed[path] = followed
            self._save(followed)

    def close(self) -> None:
        """Close every open generation (the source has stopped reading)."""
        for followed in self.followed.values():
            for tail in followed.tails():
                tail.close()
        self.followed.clear()

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

    # -- at each scan ---------------------------------------------------------------------

    def matched(self, seen: dict[str, bool]) -> None:
        """The scan found these paths: other names are never looked up again."""
        for alias in [path for path in self._aliases if path not in seen]:
            del self._aliases[alias]

    def follow(self, path: str, is_glob: bool) -> Followed:
        followed = self.followed.get(path)
        if followed is None:
            followed = self.followed[path] = Followed(path, is_glob)
        return followed

    def drop_if_gone(self, followed: Followed, seen: bool) -> None:
        """A glob match that is gone for good: keep the positions table small."""
        gone = followed.active is None and not followed.rotated and not seen
        if gone and followed.is_glob:
            del self.followed[followed.path]
            if followed.path in self._known:
                self.positions.forget(followed.path)
                self._known.discard(followed.path)

    def check(self, followed: Followed, startup: bool) -> None:
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
        for followed in self.followed.values():
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
