"""Linux inotify for drop directories, where watchdog's view is too coarse.

watchdog reports a file renamed in from another directory as "created", the same as a file
someone has just opened for writing, so a drop directory could not tell a finished marker
from a half-written one without waiting. Raw inotify says IN_MOVED_TO vs IN_CREATE, and we
subscribe only to what changes content (not our own opens and reads). Non-recursive only; the
markers source falls back to watchdog elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import select
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO = 0x2, 0x8, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x4000, 0x8000, 0x40000000
_MASK = (
    IN_MODIFY
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_HEADER = struct.Struct("iIII")


@dataclass(frozen=True)
class DirEvent:
    """Shaped like watchdog's events, so a source handles both the same way."""

    event_type: str  # closed | moved | created | modified | deleted | overflow
    src_path: str
    dest_path: str = ""
    is_directory: bool = False


def available() -> bool:
    return sys.platform.startswith("linux") and _libc() is not None


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library's inotify calls: from the symbols the interpreter already has (it links
    the C library), else by name. ``ctypes.util.find_library`` runs ``ldconfig -p``, which
    took ~1.5-3 ms a call, twice per start: it is only the last resort."""
    for name in _libc_names():
        try:
            libc = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        if hasattr(libc, "inotify_init1"):
            return libc
    return None


def _libc_names() -> Iterator[str | None]:
    yield None  # dlopen(NULL): the running program and the libraries it links
    yield "libc.so.6"
    found = ctypes.util.find_library("c")
    if found is not None:
        yield found


def decode(buffer: bytes, paths: dict[int, str]) -> list[DirEvent]:
    """Turn a read() of the inotify fd into events (pure, so it is tested without a kernel)."""
    events: list[DirEvent] = []
    offset = 0
    while offset + _HEADER.size <= len(buffer):
        wd, mask, _cookie, length = _HEADER.unpack_from(buffer, offset)
        raw = buffer[offset + _HEADER.size : offset + _HEADER.size + length]
        offset += _HEADER.size + length
        name = raw.split(b"\0", 1)[0]
        if mask & IN_Q_OVERFLOW:
            events.append(DirEvent("overflow", "", is_directory=True))
            continue
        directory = paths.get(wd)
        if directory is None or mask & IN_IGNORED:
            continue
        path = os.path.join(directory, os.fsdecode(name)) if name else directory
        is_dir = bool(mask & IN_ISDIR) or not name
        if mask & IN_MOVED_TO:
            events.append(DirEvent("moved", "", path, is_dir))
        elif mask & IN_CLOSE_WRITE:
            events.append(DirEvent("closed", path, "", is_dir))
        elif mask & IN_CREATE:
            events.append(DirEvent("created", path, "", is_dir))
        elif mask & IN_MODIFY:
            events.append(DirEvent("modified", path, "", is_dir))
        elif mask & (IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF):
            events.append(DirEvent("deleted", path, "", is_dir))
    return events


class InotifyWatch:
    """Same interface as ``watch.DirectoryWatch``: add directories, start, stop."""

    def __init__(self, callback: Callable[[DirEvent], None], name: str) -> None:
        libc = _libc()
        if libc is None:
            raise OSError("inotify is not available")
        self._libc = libc
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._callback = callback
        self._paths: dict[int, str] = {}
        self._stop_r, self._stop_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"inotify-{name}", daemon=True)

    def add(self, directory: Path, recursive: bool = False) -> bool:
        if recursive:
            return False
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
        if wd < 0:
            log.debug("cannot watch %s: %s", directory, os.strerror(ctypes.get_errno()))
            return False
        self._paths[wd] = str(directory)
        return True

    def start(self) -> bool:
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop the thread and close the descriptors; safe to call again."""
        if self._closed:
            return
        if self._thread.is_alive():
            os.write(self._stop_w, b"x")
            self._thread.join(5.0)
        self._closed = True
        for fd in (self._fd, self._stop_r, self._stop_w):
            os.close(fd)

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                buffer = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                continue
            for event in decode(buffer, dict(self._paths)):
                try:
                    self._callback(event)
                except Exception:
                    log.exception("watch callback failed")
