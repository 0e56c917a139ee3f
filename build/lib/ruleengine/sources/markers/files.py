"""Filesystem side of markers: which names to skip, reading without blocking, moving safely."""

from __future__ import annotations

import hashlib
import logging
import os
import stat as stat_module
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ruleengine.sources.markers.ledger import FAILED, PROCESSED, ignored
from ruleengine.sources.markers.payload import BadMarker

__all__ = ["FAILED", "PROCESSED", "ignored", "move_unique", "read_marker", "walk"]
log = logging.getLogger(__name__)
NAME_MAX = 255  # bytes in one file name on every filesystem we expect


def walk(
    directory: Path,
    prefix: str,
    recursive: bool,
    wanted: Callable[[str], bool],
    unlisted: Callable[[Path, OSError], None],
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative path, path, lstat) of each candidate marker: not ignored, a name ``wanted``;
    ``processed/`` and ``failed/`` of the top directory are skipped."""
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        unlisted(directory, exc)
        return
    for entry in entries:
        name = entry.name
        if ignored(name) or (not prefix and name in (PROCESSED, FAILED)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished meanwhile
        if recursive and stat_module.S_ISDIR(info.st_mode):
            yield from walk(Path(entry.path), f"{prefix}{name}/", recursive, wanted, unlisted)
            continue
        if wanted(name):
            yield f"{prefix}{name}", Path(entry.path), info


def read_marker(path: Path, info: os.stat_result, max_size: int, follow_symlinks: bool) -> bytes:
    """The bytes of a marker, or ``BadMarker`` saying why it cannot be one.

    ``FileNotFoundError`` when it vanished (finished by another path) since it was listed.

    ``info`` is the ``lstat`` of ``path``. The file is opened non-blocking, so a FIFO swapped
    in after the stat cannot hang the source, and checked again through the open descriptor.
    """
    if stat_module.S_ISLNK(info.st_mode):
        if not follow_symlinks:
            raise BadMarker("symbolic link (not followed; set follow_symlinks: true to read it)")
        try:
            info = path.stat()
        except OSError as exc:
            raise BadMarker(f"broken symbolic link: {exc.strerror}") from None
    _check_kind(info, max_size)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise  # gone meanwhile: not a bad marker
    except OSError as exc:
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


def move_unique(path: Path, directory: Path, reason: str | None = None) -> Path:
    """Move ``path`` into ``directory`` without overwriting: ``name``, ``name.1``, ``name.2``…

    With a ``reason``, ``<target>.reason`` is written *before* the move, so a crash can never
    leave a failed marker without its reason (a stray reason is rewritten on the next try).
    ``os.link`` refuses an existing target atomically, so two movers never overwrite each
    other; directories and filesystems without hard links fall back to check-then-rename.
    """
    _clear_way(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counter = 0
    while True:
        target = directory / (path.name if counter == 0 else f"{path.name}.{counter}")
        counter += 1
        if target.exists() or target.is_symlink():
            continue
        if reason is not None:
            write_reason(target, reason)
        if path.is_symlink() or path.is_dir():
            os.rename(path, target)
            return target
        try:
            os.link(path, target, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # no hard links here (FAT, some SMB servers): rename after the check
            os.rename(path, target)
            return target
        os.unlink(path)
        return target


def reason_path(moved: Path) -> Path:
    """``<name>.reason``; for a name too long to take the suffix, a shortened name + hash."""
    name = moved.name + ".reason"
    if len(os.fsencode(name)) > NAME_MAX:
        digest = hashlib.blake2b(os.fsencode(moved.name), digest_size=4).hexdigest()
        head = os.fsencode(moved.name)[: NAME_MAX - 32].decode("utf-8", "ignore")
        name = f"{head}-{digest}.reason"
    return moved.with_name(name)


def write_reason(moved: Path, reason: str) -> None:
    """The reason file beside a failed marker: why it failed, for whoever looks in failed/."""
    path = reason_path(moved)
    header = "" if path.name == moved.name + ".reason" else f"marker: {moved.name}\n"
    path.write_text(header + reason + "\n", encoding="utf-8")


def _clear_way(directory: Path) -> None:
    """A file squatting on failed/ or processed/ (or a parent) is renamed aside, not fatal.

    Otherwise no bad marker could ever be quarantined and each would be retried forever.
    """
    for folder in (directory, *directory.parents):
        if folder.is_dir():
            return
        if os.path.lexists(folder):
            aside = folder.with_name(f"{folder.name}.{int(time.time())}.moved-aside")
            os.rename(folder, aside)
            log.warning("%s is not a directory; renamed it to %s to make room", folder, aside.name)
            return
