"""``processed/`` and ``failed/``: directories the daemon made or owns, checked before each use.

They live in the drop directory (the default) or under ``archive_dir``. Each use opens them
relative to their base with ``O_NOFOLLOW|O_DIRECTORY`` and checks the open directory: a real
directory, owned by the daemon's user, writable by no one else. Otherwise nothing is moved
(``UnsafeArchive``): a writer of the drop directory could otherwise swap one for a link and
have markers moved, or reason files written, wherever the link points.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat as stat_module
import time
from pathlib import Path

from ruleengine.sources.markers.dirfd import (
    DIR_FLAGS,
    Changed,
    Listed,
    closing,
    create_exclusive,
    ident,
    lstat_at,
    move_at,
    open_root,
    parent_of,
)
from ruleengine.sources.markers.files import reason_name

log = logging.getLogger(__name__)
MODE = 0o750  # processed/, failed/ and their subdirectories, when ruleengine makes them
MAX_COPIES = 10_000  # name, name.1 … name.9999: beyond that something is wrong


class UnsafeArchive(OSError):
    """An archive directory ruleengine will not use; says which and why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            errno.EPERM,
            f"{path} {problem}; markers are moved only into a directory the daemon owns and "
            "no one else may write (set archive_dir: to keep them outside the drop directory)",
        )


def problem(info: os.stat_result | None, euid: int) -> str | None:
    """Why a processed/ or failed/ with this lstat must not be used; None when it may
    (or does not exist yet: ruleengine makes it). Shared with ``status``."""
    if info is None:
        return None
    if stat_module.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat_module.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid != euid:
        return f"is owned by uid {info.st_uid}, not by the daemon's user (uid {euid})"
    if info.st_mode & 0o022:
        return f"is writable by group or others (mode {stat_module.S_IMODE(info.st_mode):o})"
    return None


class Archive:
    """Where one markers source moves markers: ``base/processed`` and ``base/failed``."""

    def __init__(self, drop: Path, base: Path) -> None:
        self.drop = drop
        self.base = base

    def problems(self, folders: tuple[str, ...]) -> list[str]:
        """What is wrong with these folders now (for the log at start and for ``status``)."""
        found = []
        for folder in folders:
            path = self.base / folder
            try:
                info: os.stat_result | None = path.lstat()
            except FileNotFoundError:
                info = None
            except OSError as exc:
                found.append(f"{path}: {exc.strerror}")
                continue
            if (why := problem(info, os.geteuid())) is not None:
                found.append(str(UnsafeArchive(path, why).strerror))
        return found

    def delete(self, listed: Listed) -> None:
        with parent_of(self.drop, listed) as src:
            _same(src, listed)
            os.unlink(listed.name, dir_fd=src)

    def move(self, listed: Listed, folder: str, reason: str | None = None) -> str:
        """Move a marker to ``folder`` (its subdirectories mirrored), never replacing anything;
        then, for a failed one, write ``<target>.reason``. Returns where it went."""
        dirs = [name for name, _ in listed.parents]
        with parent_of(self.drop, listed) as src:
            _same(src, listed)
            with closing(self._open(folder, dirs)) as dst:
                target = self._move_unique(src, listed.name, dst, reason is not None)
                if reason is not None:
                    self._write_reason(dst, target, reason)
        return str(self.base.joinpath(folder, *dirs, target))

    def _move_unique(self, src: int, name: str, dst: int, reason: bool) -> str:
        for counter in range(MAX_COPIES):
            target = name if counter == 0 else f"{name}.{counter}"
            if lstat_at(dst, target) is not None:
                continue
            if reason and lstat_at(dst, reason_name(target)) is not None:
                continue  # a stray reason file is never reused, never written through
            try:
                move_at(src, name, dst, target)
            except FileExistsError:
                continue
            return target
        raise FileExistsError(errno.EEXIST, f"{MAX_COPIES} markers named {name} already there")

    def _write_reason(self, dst: int, moved: str, reason: str) -> None:
        """Only after the move: a new file, never an existing file or link of that name."""
        name = reason_name(moved)
        header = "" if name == moved + ".reason" else f"marker: {moved}\n"
        try:
            create_exclusive(dst, name, header + reason + "\n")
        except OSError as exc:
            log.warning("cannot write %s: %s", name, exc.strerror)

    def _open(self, folder: str, dirs: list[str]) -> int:
        """``base/folder/dirs…`` as a descriptor, made (mode 0750) where missing, each level
        checked; a file squatting on a level is renamed aside, a link or foreign directory
        refused."""
        if self.base != self.drop:  # archive_dir: made when missing, like what is below it
            self.base.mkdir(mode=MODE, parents=True, exist_ok=True)
        try:
            fd = open_root(self.base)
        except FileNotFoundError as exc:  # not "the marker is gone": say so
            raise OSError(errno.EIO, f"{self.base}: {exc.strerror}") from None
        where = self.base
        try:
            for part in (folder, *dirs):
                where = where / part
                info = lstat_at(fd, part)
                if info is not None and not (
                    stat_module.S_ISDIR(info.st_mode) or stat_module.S_ISLNK(info.st_mode)
                ):
                    _rename_aside(fd, part, where)
                    info = None
                if info is None:
                    with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
                        os.mkdir(part, MODE, dir_fd=fd)
                sub = _open_checked(fd, part, where)
                os.close(fd)
                fd = sub
        except BaseException:
            os.close(fd)
            raise
        return fd


def _open_checked(parent: int, name: str, where: Path) -> int:
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            found = problem(lstat_at(parent, name), os.geteuid()) or "is not a directory"
            raise UnsafeArchive(where, found) from None
        raise
    if (why := problem(os.fstat(fd), os.geteuid())) is not None:
        os.close(fd)
        raise UnsafeArchive(where, why)
    return fd


def _same(parent: int, listed: Listed) -> None:
    """The entry to move or delete is still the one listed (not replaced since)."""
    now = lstat_at(parent, listed.name)
    if now is None or ident(now) != ident(listed.info):
        raise Changed(errno.ENOENT, f"{listed.name} was replaced")


def _rename_aside(parent: int, name: str, where: Path) -> None:
    """A file squatting on failed/ or processed/: renamed aside so markers can still move."""
    aside = f"{name}.{int(time.time())}.moved-aside"
    os.rename(name, aside, src_dir_fd=parent, dst_dir_fd=parent)
    log.warning("%s is not a directory; renamed it to %s to make room", where, aside)
