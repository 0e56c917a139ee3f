"""Finding a log's generations again, and saying what was found: a stored generation that
moved away while the daemon was stopped, generations that came and went unseen (between two
looks, or while stopped), the copy of a truncated file, and a rotated file that went where
nothing looks. The source opens and reads what this finds; this module looks and logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Protocol

from ruleengine.sources.logfile.discover import Places, find_rotated, unseen_rotations
from ruleengine.sources.logfile.generations import Followed
from ruleengine.sources.logfile.rotation import FileState
from ruleengine.sources.logfile.tailer import Tail

log = logging.getLogger(__name__)
MTIME_SLACK = 0.1  # file times are a clock tick coarse: a generation's mtime may trail its birth


class Opener(Protocol):
    """The source's way to open a generation (it tracks unreadable files and labels)."""

    def __call__(
        self,
        path: str,
        state: FileState | None,
        *,
        shrunk_ok: bool,
        label: str,
        packed: bool,
    ) -> Tail | None: ...


class Recovery:
    """One source's search for rotated generations (``rotated:`` places included)."""

    def __init__(
        self,
        source: str,
        rotated: tuple[str, ...],
        single: bool,
        open_tail: Opener,
        followed_elsewhere: Callable[[str], bool],
    ) -> None:
        self.source = source
        self.rotated = rotated
        self.single = single  # one log: whatever a ``rotated:`` glob matches is its rotation
        self.open_tail = open_tail
        self.followed_elsewhere = followed_elsewhere  # a path the source follows by name
        self._hinted = False  # the "moved out of the searched places" warning was logged

    def places(self, path: str) -> Places:
        return Places(path, self.rotated, self.single)

    def reattach(self, followed: Followed, state: FileState, *, was_rotated: bool) -> Tail | None:
        """The generation ``state`` names, wherever it went while the daemon was stopped."""
        found = find_rotated(self.places(followed.path), state)
        tail = (
            self.open_tail(
                found.path, state, shrunk_ok=False, label=followed.path, packed=found.packed
            )
            if found is not None
            else None
        )
        if found is None or tail is None:
            self._missing(followed, state, was_rotated)
            return None
        log.info(
            "source %s: %s was rotated to %s; reading its remaining lines first",
            self.source,
            followed.path,
            found.path,
        )
        return tail

    def unseen(
        self, followed: Followed, since: float, also: Sequence[FileState] = ()
    ) -> list[Tail]:
        """Rotated generations no position ever named that changed after ``since``, opened
        from their start, oldest first."""
        known = [*followed.done, *(tail.state for tail in followed.tails()), *also]
        tails = []
        for found in unseen_rotations(self.places(followed.path), known, since):
            if self.followed_elsewhere(found.path):
                continue
            tail = self.open_tail(
                found.path, None, shrunk_ok=True, label=followed.path, packed=found.packed
            )
            if tail is not None:
                log.info(
                    "source %s: %s is a rotated generation of %s that was never read; "
                    "reading it first",
                    self.source,
                    found.path,
                    followed.path,
                )
                tails.append(tail)
        return tails

    def between(self, followed: Followed, now: float) -> list[Tail]:
        """The file at the path changed identity at ``now``: generations created after the
        last look at the previous one were rotated away before they were seen."""
        since, followed.checked = followed.checked, now
        return [] if since is None else self.unseen(followed, since - MTIME_SLACK)

    def copy_of(self, followed: Followed, state: FileState) -> Tail | None:
        """copytruncate: the copy holding what the truncated file had beyond our offset."""
        copy = find_rotated(self.places(followed.path), state, exclude_ino=state.ino)
        tail = None
        if copy is not None:
            tail = self.open_tail(
                copy.path, state, shrunk_ok=True, label=followed.path, packed=copy.packed
            )
        if copy is not None and tail is not None:
            log.info(
                "source %s: %s was truncated; its unread lines are read from the copy %s",
                self.source,
                followed.path,
                copy.path,
            )
        else:
            log.warning(
                "source %s: %s was truncated and no copy of it was found; lines written "
                "just before the truncation may be lost",
                self.source,
                followed.path,
            )
        return tail

    def moved_elsewhere(self, followed: Followed, rotated: Tail) -> None:
        """Say once when a rotated file went where nothing looks (an olddir not named by
        ``rotated:``): generations that come and go there unseen cannot be found."""
        if self._hinted:
            return
        try:
            if os.fstat(rotated.handle.fileno()).st_nlink == 0:
                return  # deleted (or compressed and deleted): nothing to find
        except OSError:
            return
        if find_rotated(self.places(followed.path), rotated.state) is None:
            self._hinted = True
            log.warning(
                "source %s: %s was moved out of the places searched for its rotated files; "
                "if logrotate uses olddir, name that directory with 'rotated:' so that "
                "rotations while ruleengine is stopped or busy are found",
                self.source,
                followed.path,
            )

    def _missing(self, followed: Followed, state: FileState, was_rotated: bool) -> None:
        """A generation is nowhere. A rotated one we had read to its end is no loss (logrotate
        deleted it: ``rotate N``); anything else may have held lines we never read."""
        if was_rotated and state.read_to_end:
            log.info(
                "source %s: a rotated generation of %s, read to its end (offset %d), "
                "has since been deleted",
                self.source,
                followed.path,
                state.offset,
            )
            return
        log.warning(
            "source %s: the file last read at %s (offset %d) is gone and no rotated copy "
            "was found; lines written to it after that are lost",
            self.source,
            followed.path,
            state.offset,
        )
