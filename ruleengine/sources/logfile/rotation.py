"""File identity: (inode, head fingerprint), the persisted per-file state, and finding a file
again among its rotated names after a rotation the daemon did not see.

The fingerprint covers the first ``FINGERPRINT_BYTES`` bytes, or fewer while the file is smaller
(a one-line file has a one-line fingerprint: there is no minimum size). Inode reuse and
copytruncate are told apart from growth because the head of the file changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any, BinaryIO

FINGERPRINT_BYTES = 256
_INSERTED = re.compile(r"[-_.]\d[\d_.-]*")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".z")


def fingerprint(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def read_head(handle: BinaryIO, length: int = FINGERPRINT_BYTES) -> bytes:
    """The first ``length`` bytes of an open file; keeps the handle's position."""
    position = handle.tell()
    try:
        handle.seek(0)
        return handle.read(length)
    finally:
        handle.seek(position)


@dataclass(frozen=True, slots=True)
class FileState:
    """What is persisted about one file generation: who it is and where reading resumes.

    ``token`` names the generation: it is part of every event id, so the same line re-read
    yields the same id, while a recreated or truncated file (new token) never collides with
    the lines its predecessor had at the same offsets.
    """

    token: str
    dev: int
    ino: int
    fp_len: int
    fp: str
    offset: int
    skip: bool = False  # resuming inside an over-long line whose head was already emitted

    @classmethod
    def new(cls, stat: os.stat_result, head: bytes, offset: int) -> FileState:
        return cls(
            token=secrets.token_hex(8),
            dev=stat.st_dev,
            ino=stat.st_ino,
            fp_len=len(head),
            fp=fingerprint(head),
            offset=offset,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FileState:
        if not isinstance(data, dict):
            raise ValueError("file state must be an object")
        return cls(
            token=str(data["token"]),
            dev=int(data["dev"]),
            ino=int(data["ino"]),
            fp_len=int(data["fp_len"]),
            fp=str(data["fp"]),
            offset=int(data["offset"]),
            skip=bool(data.get("skip", False)),
        )

    def moved(self, stat: os.stat_result) -> FileState:
        """The same content now found in another file (a copytruncate copy)."""
        return replace(self, dev=stat.st_dev, ino=stat.st_ino)

    def head_matches(self, head: bytes) -> bool:
        """Does a file whose first bytes are ``head`` start like this one did?"""
        return len(head) >= self.fp_len and fingerprint(head[: self.fp_len]) == self.fp


def rotated_name(name: str, base: str) -> bool:
    """Could ``name`` be a rotation of ``base``? ``app.log.1``, ``app.log-20261127``,
    ``app-20261127.log`` and ``app.1.log`` are; ``application.log`` and ``app.debug.log``
    are not."""
    if name == base:
        return False
    if name.startswith(base) and name[len(base)] in ".-_":
        return True
    stem, dot, extension = base.partition(".")
    if not dot or not name.startswith(stem) or not name.endswith("." + extension):
        return False
    # dateext with the extension kept: the inserted part is a number or a date.
    middle = name[len(stem) : len(name) - len(extension) - 1]
    return _INSERTED.fullmatch(middle) is not None


def head_of(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(FINGERPRINT_BYTES)
    except OSError:
        return None


def find_rotated(path: str, state: FileState, exclude_ino: int | None = None) -> str | None:
    """Where the file ``state`` describes lives now, among the other names in its directory.

    Same inode and head first (rename rotation: ``app.log.1``, ``app.log-20261127``); then the
    same head under a name that starts like the log's (a copytruncate copy, newest first).
    Compressed rotations cannot be read and are skipped.
    """
    directory, base = os.path.split(path)
    copies: list[tuple[float, str]] = []
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return None
    for entry in entries:
        if entry.path == path or entry.name.lower().endswith(_COMPRESSED):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            inode = entry.inode()
        except OSError:
            continue
        if inode == exclude_ino:
            continue
        if inode == state.ino:
            head = head_of(entry.path)
            if head is not None and state.head_matches(head):
                return entry.path
        elif state.fp_len > 0 and rotated_name(entry.name, base):
            head = head_of(entry.path)
            if head is not None and state.head_matches(head):
                try:
                    copies.append((entry.stat().st_mtime, entry.path))
                except OSError:
                    continue
    return max(copies)[1] if copies else None


def unseen_rotations(path: str, known: list[FileState], since: float) -> list[str]:
    """Rotated names of ``path`` written after ``since`` that are none of the ``known``
    generations: files that appeared and were rotated away before their first position was
    committed (several rotations while stopped, or a crash while the engine lagged behind).
    Oldest first, so their lines are read in the order they were written."""
    directory, base = os.path.split(path)
    inodes = {state.ino for state in known}
    found: list[tuple[float, str]] = []
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not rotated_name(name, base) or name.lower().endswith(_COMPRESSED):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.inode() in inodes:
                continue
            mtime = entry.stat().st_mtime
        except OSError:
            continue
        if mtime <= since:
            continue
        head = head_of(entry.path)
        if head is None or any(state.fp_len and state.head_matches(head) for state in known):
            continue  # a copy of a generation we know
        found.append((mtime, entry.path))
    return [where for _mtime, where in sorted(found)]
