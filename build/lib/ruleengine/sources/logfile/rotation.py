"""File identity: (device, inode, head fingerprint), the persisted per-file state, and which
names are rotated names of a log (finding them on disk is ``discover``'s job).

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
    end: int | None = None  # how far the file had been read when this state was taken
    where: str | None = None  # the name it was read under last (for status)

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
            end=int(data["end"]) if data.get("end") is not None else None,
            where=str(data["where"]) if data.get("where") is not None else None,
        )

    def moved(self, stat: os.stat_result) -> FileState:
        """The same content now found in another file (a copytruncate copy)."""
        return replace(self, dev=stat.st_dev, ino=stat.st_ino)

    @property
    def read_to_end(self) -> bool:
        """Every byte read when the state was taken was in an emitted event."""
        return self.end is not None and self.offset >= self.end

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
