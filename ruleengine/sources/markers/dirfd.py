"""Drop-directory operations a writer of the directory cannot redirect.

Whoever may write a drop directory may rename, replace or link anything in it at any moment.
So nothing here is done by path: the directory is opened once, every level below it relative
to the one above with ``O_NOFOLLOW|O_DIRECTORY`` and compared with the identity (device, inode)
the listing saw; files are opened, linked, renamed and unlinked relative to those descriptors.
A swapped-in link or directory reads as "changed since listed" (``Changed``), like a file that
vanished: the next scan sees what is there now.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
Ident = tuple[int, int]  # (st_dev, st_ino)


class Changed(FileNotFoundError):
    """A level or file is no longer what the listing saw (swapped, replaced): as if gone."""


@dataclass(frozen=True)
class Listed:
    """A candidate marker as the listing saw it, and the directories it was found through."""

    rel: str  # path relative to the drop directory, "/"-separated
    root: Ident  # the drop directory itself
    parents: tuple[tuple[str, Ident], ...]  # each subdirectory below the root, in order
    info: os.stat_result  # lstat of the entry

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]


def ident(info: os.stat_result) -> Ident:
    return (info.st_dev, info.st_ino)


def open_root(path: Path) -> int:
    """The drop (or archive) directory itself: its path is the administrator's, links and all."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_sub(parent: int, name: str, expect: Ident | None = None) -> int:
    """``name`` in ``parent``, only if it is a real directory (and the one listed, if known)."""
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            raise Changed(exc.errno, f"{name} is no longer a directory") from None
        raise
    if expect is not None and ident(os.fstat(fd)) != expect:
        os.close(fd)
        raise Changed(errno.ENOENT, f"{name} was replaced")
    return fd


@contextlib.contextmanager
def closing(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def parent_of(root: Path, listed: Listed) -> Iterator[int]:
    """The directory holding ``listed``, reached level by level, each the one listed."""
    fd = open_root(root)
    try:
        if ident(os.fstat(fd)) != listed.root:
            raise Changed(errno.ENOENT, f"{root} was replaced")
        for name, expect in listed.parents:
            sub = open_sub(fd, name, expect)
            os.close(fd)
            fd = sub
        yield fd
    finally:
        os.close(fd)


def lstat_at(parent: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None


def lexists(root: Path, rel: str) -> bool:
    """Is there an entry at ``rel`` below ``root``, found without following any link?"""
    *dirs, name = rel.split("/")
    try:
        fd = open_root(root)
    except OSError:
        return False
    try:
        for part in dirs:
            sub = open_sub(fd, part)
            os.close(fd)
            fd = sub
        return lstat_at(fd, name) is not None
    except OSError:
        return False
    finally:
        os.close(fd)


def walk(
    root: Path,
    recursive: bool,
    skip: Callable[[str, bool], bool],
    unlisted: Callable[[Path, OSError], None],
) -> Iterator[Listed]:
    """Each entry below ``root`` that ``skip(name, top_level)`` keeps, subdirectories walked
    (``recursive``) through descriptors: a directory swapped for a link is never entered."""

    def descend(fd: int, parents: tuple[tuple[str, Ident], ...], prefix: str) -> Iterator[Listed]:
        try:
            entries = list(os.scandir(fd))  # scandir works on a duplicate; fd stays ours
        except OSError as exc:
            unlisted(root / prefix, exc)
            return
        for entry in entries:
            name = entry.name
            if skip(name, not prefix):
                continue
            try:
                info = entry.stat(follow_symlinks=False)  # fstatat relative to fd
            except OSError:
                continue  # vanished meanwhile
            if not (recursive and stat_module.S_ISDIR(info.st_mode)):
                yield Listed(f"{prefix}{name}", root_id, parents, info)
                continue
            try:
                sub = open_sub(fd, name, ident(info))
            except Changed:
                continue  # swapped since listed: the next scan sees what it is now
            except OSError as exc:
                unlisted(root / prefix / name, exc)
                continue
            with closing(sub):
                yield from descend(sub, (*parents, (name, ident(info))), f"{prefix}{name}/")

    try:
        top = open_root(root)
    except OSError as exc:
        unlisted(root, exc)
        return
    with closing(top):
        root_id = ident(os.fstat(top))
        yield from descend(top, (), "")


def open_marker(parent: int, name: str, info: os.stat_result, follow_symlinks: bool) -> int:
    """A non-blocking read descriptor of a listed marker; ``Changed`` when it is not the file
    listed. A followed link (``follow_symlinks``) must belong to the target's owner or to the
    daemon's user, as the kernel's protected_symlinks demands in sticky directories: a writer
    cannot make the daemon read someone else's file through a link of theirs."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    link = stat_module.S_ISLNK(info.st_mode)
    if not (link and follow_symlinks):
        flags |= os.O_NOFOLLOW
    fd = os.open(name, flags, dir_fd=parent)
    try:
        found = os.fstat(fd)
        if link:
            now = lstat_at(parent, name)
            if now is None or ident(now) != ident(info):
                raise Changed(errno.ENOENT, f"{name} was replaced")
            if info.st_uid not in (found.st_uid, os.geteuid()):
                raise PermissionError(
                    errno.EPERM,
                    f"symbolic link to a file of uid {found.st_uid}, owned by uid {info.st_uid} "
                    "(a link is followed only to a file of its own owner)",
                )
        elif ident(found) != ident(info):
            raise Changed(errno.ENOENT, f"{name} was replaced")
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_exclusive(parent: int, name: str, text: str, mode: int = 0o640) -> None:
    """A new file with ``text``; an existing file or link of that name is never written."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, mode, dir_fd=parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def move_at(src: int, name: str, dst: int, target: str) -> None:
    """Move ``name`` to ``target`` without replacing anything there; links stay links.

    ``linkat`` (without following) refuses an existing target atomically; what cannot be
    hard-linked (directories, filesystems without links) is renamed after a check, which is
    safe in an archive directory only the daemon may write.
    """
    try:
        os.link(name, target, src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except FileNotFoundError:
        raise
    except OSError:
        if lstat_at(dst, target) is not None:
            raise FileExistsError(errno.EEXIST, f"{target} exists") from None
        os.rename(name, target, src_dir_fd=src, dst_dir_fd=dst)
        return
    os.unlink(name, dir_fd=src)
