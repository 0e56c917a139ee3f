"""Finding a log's rotated generations on disk: where they may be, which one a stored state
names, and which ones no state names (generations rotated away before they were ever read).

A rotated generation is looked for in the log's own directory and in the places the source's
``rotated:`` option names (logrotate's ``olddir``, or a glob), plain or compressed. Its identity
is device + inode + head fingerprint for a plain file that was renamed; a copy (copytruncate,
or a compressed generation, whose inode is new) is recognised by its head alone.
"""

from __future__ import annotations

import glob
import os
import stat as stat_module
from collections.abc import Sequence
from dataclasses import dataclass

from ruleengine.sources.logfile import compressed
from ruleengine.sources.logfile.rotation import (
    FINGERPRINT_BYTES,
    FileState,
    fingerprint,
    rotated_name,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that may be a rotated generation of a log."""

    path: str
    dev: int
    ino: int
    mtime: float
    packed: bool  # compressed: read through a decompressing stream


@dataclass(frozen=True, slots=True)
class Places:
    """Where the rotated generations of one log may be.

    ``rotated`` holds directories and globs from the source's settings. A file in a directory
    (the log's own, or a ``rotated`` one) counts when its name is a rotated name of the log's
    (``app.log.1``, ``app.log-20261127.gz``); a file a glob matches counts whatever its name
    when ``trust_globs`` is set (a source with one log: the glob names its rotations).
    """

    path: str
    rotated: tuple[str, ...] = ()
    trust_globs: bool = False

    def candidates(self) -> list[Candidate]:
        directory, base = os.path.split(self.path)
        directory = directory or "."
        found: dict[str, Candidate] = {}
        searched = [(os.path.join(glob.escape(directory), "*"), False)]
        for place in self.rotated:
            if glob.has_magic(place):
                searched.append((place, self.trust_globs))
            else:
                searched.append((os.path.join(glob.escape(place), "*"), False))
        for pattern, trusted in searched:
            for where in glob.glob(pattern):
                name = os.path.basename(where)
                if where == self.path or where in found:
                    continue
                if not trusted and not rotated_name(compressed.plain_name(name), base):
                    continue
                candidate = _candidate(where)
                if candidate is not None:
                    found[where] = candidate
        return list(found.values())


def _candidate(path: str) -> Candidate | None:
    try:
        info = os.lstat(path)  # a link is never followed
    except OSError:
        return None
    if not stat_module.S_ISREG(info.st_mode):
        return None
    packed = compressed.compressed_name(os.path.basename(path))
    return Candidate(path, info.st_dev, info.st_ino, info.st_mtime, packed)


def head_of(candidate: Candidate) -> bytes | None:
    """The first bytes of what the generation holds (decompressed); None when unreadable."""
    try:
        handle = compressed.open_stream(candidate.path, candidate.packed)
    except OSError:
        return None
    if handle is None:
        return None
    try:
        return handle.read(FINGERPRINT_BYTES)
    except compressed.ERRORS:
        return None
    finally:
        handle.close()


def is_generation(state: FileState, candidate: Candidate, head: bytes) -> bool:
    """Is ``candidate`` the generation ``state`` describes, or a copy of it?"""
    if not state.head_matches(head):
        return False
    same_file = (candidate.dev, candidate.ino) == (state.dev, state.ino) and not candidate.packed
    # An empty fingerprint matches any head: then only the very same file counts.
    return same_file or state.fp_len > 0


def find_rotated(
    places: Places, state: FileState, exclude_ino: int | None = None
) -> Candidate | None:
    """Where the generation ``state`` describes lives now.

    The same file first (renamed: ``app.log.1``, ``old/app.log.1``); then a plain copy with
    the same head (copytruncate), newest first; then a compressed one.
    """
    ranked: list[tuple[int, float, Candidate]] = []
    for candidate in places.candidates():
        if candidate.ino == exclude_ino and not candidate.packed:
            continue
        head = head_of(candidate)
        if head is None or not is_generation(state, candidate, head):
            continue
        same = (candidate.dev, candidate.ino) == (state.dev, state.ino) and not candidate.packed
        rank = 0 if same else 2 if candidate.packed else 1
        ranked.append((rank, -candidate.mtime, candidate))
    return min(ranked, key=lambda item: item[:2])[2] if ranked else None


def unseen_rotations(places: Places, known: Sequence[FileState], since: float) -> list[Candidate]:
    """Rotated generations changed after ``since`` that none of the ``known`` states names:
    files that appeared and were rotated away before they were ever read (rotations while
    stopped, or faster than the source looked). Oldest first, the order they were written."""
    known = list(known)
    found: list[Candidate] = []
    # Plain files first: while logrotate compresses a generation, both copies exist, and only
    # the plain one is complete.
    for candidate in sorted(places.candidates(), key=lambda candidate: candidate.packed):
        if candidate.mtime <= since:
            continue
        head = head_of(candidate)
        if head is None:
            continue
        if any(is_generation(state, candidate, head) for state in known):
            continue
        found.append(candidate)
        known.append(_state_of(candidate, head))
    return sorted(found, key=lambda candidate: candidate.mtime)


def _state_of(candidate: Candidate, head: bytes) -> FileState:
    """What a found generation looks like to later candidates (its compressed copy)."""
    return FileState("", candidate.dev, candidate.ino, len(head), fingerprint(head), 0)
