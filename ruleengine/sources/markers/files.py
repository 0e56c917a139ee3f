"""Filesystem side of markers: which names to skip, reading without blocking or following.

Every access goes through directory descriptors (``dirfd``): nothing here takes a path below
the drop directory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from pathlib import Path

from ruleengine.sources.markers import dirfd
from ruleengine.sources.markers.dirfd import Changed, Listed
from ruleengine.sources.markers.ledger import FAILED, PROCESSED, ignored
from ruleengine.sources.markers.payload import BadMarker

__all__ = ["FAILED", "PROCESSED", "ignored", "read_marker", "reason_name", "walk"]
NAME_MAX = 255  # bytes in one file name on every filesystem we expect


def walk(
    directory: Path,
    recursive: bool,
    wanted: Callable[[str], bool],
    unlisted: Callable[[Path, OSError], None],
) -> Iterator[Listed]:
    """Each candidate marker: not ignored, a name ``wanted``; ``processed/`` and ``failed/``
    of the top directory are skipped, and so is every directory when not ``recursive``
    (it is a bad marker only when its name is wanted)."""

    def skip(name: str, top: bool) -> bool:
        if ignored(name) or (top and name in (PROCESSED, FAILED)):
            return True
        return not recursive and not wanted(name)

    for listed in dirfd.walk(directory, recursive, skip, unlisted):
        if wanted(listed.name):
            yield listed


def read_marker(parent: int, listed: Listed, max_size: int, follow_symlinks: bool) -> bytes:
    """The bytes of a marker in the directory ``parent``, or ``BadMarker`` saying why it cannot
    be one.

    ``FileNotFoundError`` (``Changed`` included) when it vanished or was replaced since it was
    listed: not a bad marker, the next scan sees what is there now. The file is opened
    non-blocking, so a FIFO swapped in cannot hang the source, and checked again through the
    open descriptor.
    """
    info = listed.info
    if stat_module.S_ISLNK(info.st_mode) and not follow_symlinks:
        raise BadMarker("symbolic link (not followed; set follow_symlinks: true to read it)")
    if not stat_module.S_ISLNK(info.st_mode):
        _check_kind(info, max_size)
    try:
        fd = dirfd.open_marker(parent, listed.name, info, follow_symlinks)
    except FileNotFoundError:
        if stat_module.S_ISLNK(info.st_mode) and dirfd.lstat_at(parent, listed.name):
            raise BadMarker("broken symbolic link") from None
        raise  # gone meanwhile: not a bad marker
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link now, where the listing saw a file
            raise Changed(errno.ENOENT, "replaced by a link") from None
        raise BadMarker(f"cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_kind(os.fstat(fd), max_size)
        try:
            raw = handle.read(max_size + 1)
        except OSError as exc:
            raise BadMarker(f"cannot read: {exc.strerror}") from None
    if len(raw) > max_size:
        raise BadMarker(f"larger than max_size ({max_size} bytes)")
    return raw


def _check_kind(info: os.stat_result, max_size: int) -> None:
    mode = info.st_mode
    if stat_module.S_ISDIR(mode):
        raise BadMarker("a directory (set recursive: true to watch subdirectories)")
    if stat_module.S_ISFIFO(mode):
        raise BadMarker("a FIFO (named pipe), not a regular file")
    if not stat_module.S_ISREG(mode):
        raise BadMarker("not a regular file (device or socket)")
    if info.st_size > max_size:
        raise BadMarker(f"larger than max_size ({info.st_size} > {max_size} bytes)")


def reason_name(moved: str) -> str:
    """``<name>.reason``; for a name too long to take the suffix, a shortened name + hash."""
    name = moved + ".reason"
    if len(os.fsencode(name)) > NAME_MAX:
        digest = hashlib.blake2b(os.fsencode(moved), digest_size=4).hexdigest()
        head = os.fsencode(moved)[: NAME_MAX - 32].decode("utf-8", "ignore")
        name = f"{head}-{digest}.reason"
    return name


def reason_path(moved: Path) -> Path:
    """The reason file beside a failed marker, as a path (for whoever looks in failed/)."""
    return moved.with_name(reason_name(moved.name))
