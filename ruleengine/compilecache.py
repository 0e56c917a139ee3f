"""The on-disk cache of compiled Hyperscan databases: a restart, a reload or a dry run on rules
already compiled once loads them in microseconds instead of compiling them again (tens of ms for
20 rules, more for hundreds). Suricata caches its Hyperscan databases for the same reason.

Where: ``$RULEENGINE_CACHE_DIR`` (empty: no cache), else systemd's ``$CACHE_DIRECTORY`` (the
unit sets ``CacheDirectory=ruleengine``), else ``$XDG_CACHE_HOME/ruleengine``, else
``~/.cache/ruleengine``. A cache is only a shortcut: any doubt (a directory or file that another
user owns or may write, a symlink, a torn or foreign file, a digest that does not match) means
compiling as if there were none. A deserialized database is trusted only because this user wrote
it and its SHA-256 still matches: Hyperscan itself accepts some corrupted databases.

Each entry is named by a digest of everything the compiled result depends on (the expressions,
their flags and ids, the Hyperscan build, the machine); the most recently used ``KEEP`` stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"ruleengine-hs-cache 1\n"
KEEP = 32  # entries kept: rules edited many times do not fill the disk
_PREFIX, _SUFFIX = "hs-", ".db"
_BODY = len(MAGIC) + 32  # the magic line, then the SHA-256 of the blob, then the blob


def directory() -> Path | None:
    """The cache directory this process uses, or None when caching is off."""
    configured = os.environ.get("RULEENGINE_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured else None
    systemd = os.environ.get("CACHE_DIRECTORY")
    if systemd:
        return Path(systemd.split(":")[0])
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "ruleengine"
    try:
        return Path.home() / ".cache" / "ruleengine"
    except RuntimeError:  # no home directory for this user
        return None


def key(*parts: bytes | str | int) -> str:
    """The name of an entry: a digest of what the compiled result depends on."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _ours(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _usable(path: Path | None, create: bool) -> Path | None:
    if path is None:
        return None
    try:
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or not _ours(info):
        log.debug("compile cache %s is not this user's alone: not used", path)
        return None
    return path


def load(name: str) -> bytes | None:
    """The cached blob called ``name``, if there is a sound one."""
    folder = _usable(directory(), create=False)
    if folder is None:
        return None
    path = folder / f"{_PREFIX}{name}{_SUFFIX}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or not _ours(info):
            return None
        data = handle.read()
    head, digest, blob = data[: len(MAGIC)], data[len(MAGIC) : _BODY], data[_BODY:]
    if head != MAGIC or hashlib.sha256(blob).digest() != digest:
        log.debug("compile cache entry %s is damaged: compiling", path.name)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept by ``_prune``
    return blob


def store(name: str, blob: bytes) -> None:
    """Keep ``blob`` as ``name`` (atomically: a reader sees the whole entry or none)."""
    folder = _usable(directory(), create=True)
    if folder is None:
        return
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    except OSError as exc:
        log.debug("cannot write to the compile cache %s: %s", folder, exc)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + hashlib.sha256(blob).digest() + blob)
        os.replace(temporary, folder / f"{_PREFIX}{name}{_SUFFIX}")
    except OSError as exc:
        log.debug("cannot write to the compile cache %s: %s", folder, exc)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _prune(folder)


def _prune(folder: Path) -> None:
    """Keep the ``KEEP`` most recently used entries."""
    try:
        entries = sorted(
            (entry.stat().st_mtime, entry)
            for entry in folder.glob(f"{_PREFIX}*{_SUFFIX}")
            if entry.is_file()
        )
    except OSError:
        return
    for _mtime, entry in entries[:-KEEP]:
        with contextlib.suppress(OSError):
            entry.unlink()
