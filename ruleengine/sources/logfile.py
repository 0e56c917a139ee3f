"""Tail log files: each complete line is one event; positions persist with the outbox.

A file is known by (device, inode) plus a fingerprint of its first bytes, so rotation, truncation
and inode reuse are told apart from growth. The open handle of a rotated file is drained to its
end before the new file at the same path is followed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.model import Batch, Event, Position, stable_id
from ruleengine.sources import Emit, SourceContext
from ruleengine.sources.watch import DirectoryWatch

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
FINGERPRINT_BYTES = 256
RESCAN = 1.0  # seconds between safety rescans; inotify normally wakes us at once
TRUNCATED = " [… line truncated]"


def _fingerprint(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=8).hexdigest()


@dataclass
class _Tail:
    """One followed file: its identity, read offset and the incomplete last line."""

    path: str
    handle: BinaryIO
    dev: int
    ino: int
    fp_len: int
    fp: str
    offset: int  # byte offset just past the last complete line handed to the engine
    pending: bytearray = field(default_factory=bytearray)
    skipping: bool = False  # inside an over-long line, discarding until its newline

    def same_file(self, stat: os.stat_result) -> bool:
        return (stat.st_dev, stat.st_ino) == (self.dev, self.ino)

    def position(self, source: str) -> Position:
        value = {
            "dev": self.dev,
            "ino": self.ino,
            "fp_len": self.fp_len,
            "fp": self.fp,
            "offset": self.offset,
        }
        return Position(source, self.path, json.dumps(value, sort_keys=True))


class LogfileSource:
    def __init__(self, settings: LogfileSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.store = context.store
        self.patterns = [str(context.resolve(p)) for p in settings.paths]
        self.max_line = settings.max_line
        self.newline = (
            "\n".encode(settings.encoding.replace("-sig", ""))[-2:]
            if ("16" in settings.encoding)
            else b"\n"
        )
        self._tails: dict[str, _Tail] = {}
        self._missing_logged: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch = DirectoryWatch(lambda _event: self._wake.set(), context.name)
        self._first_scan = True

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, emit: Emit) -> None:
        self._emit = emit
        for pattern in self.patterns:
            self._watch.add(Path(pattern).parent)
        self._watch.start()
        self._scan()  # opens every present file and records where it starts
        self._first_scan = False
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._watch.stop()
        if self._thread is not None:
            self._thread.join(10.0)
        for tail in self._tails.values():
            tail.handle.close()
        self._tails.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(RESCAN)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._scan()
            except Exception:
                log.exception("source %s: scan failed; will retry", self.name)

    # -- scanning -------------------------------------------------------------------------

    def _paths(self) -> list[str]:
        found: list[str] = []
        for pattern in self.patterns:
            matches = (
                sorted(glob.glob(pattern))
                if glob.has_magic(pattern)
                else ([pattern] if os.path.exists(pattern) else [])
            )
            if not matches and pattern not in self._missing_logged:
                log.info("source %s: waiting for %s to appear", self.name, pattern)
                self._missing_logged.add(pattern)
            for path in matches:
                if os.path.isfile(path) and path not in found:
                    found.append(path)
                    self._watch.add(Path(path).parent)
        return found

    def _scan(self) -> None:
        for path in self._paths():
            if self._stop.is_set():
                return
            self._follow(path)

    def _follow(self, path: str) -> None:
        try:
            stat = os.stat(path)
        except OSError:
            return
        tail = self._tails.get(path)
        if tail is not None and not tail.same_file(stat):
            # Rotated (renamed or deleted and recreated): finish the old file first.
            self._read(tail)
            self._flush_partial(tail)
            tail.handle.close()
            log.info("source %s: %s was rotated; following the new file", self.name, path)
            tail = None
            del self._tails[path]
        if tail is None:
            tail = self._open(path, stat)
            if tail is None:
                return
            self._tails[path] = tail
        elif stat.st_size < tail.offset:
            log.warning("source %s: %s was truncated; reading it from the start", self.name, path)
            tail.offset, tail.skipping = 0, False
            tail.pending.clear()
            tail.handle.seek(0)
            tail.fp_len, tail.fp = self._head(tail.handle)
        self._read(tail)

    def _head(self, handle: BinaryIO) -> tuple[int, str]:
        position = handle.tell()
        handle.seek(0)
        head = handle.read(FINGERPRINT_BYTES)
        handle.seek(position)
        return len(head), _fingerprint(head)

    def _open(self, path: str, stat: os.stat_result) -> _Tail | None:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open to drain after rotation
        except OSError as exc:
            log.warning("source %s: cannot open %s: %s", self.name, path, exc.strerror)
            return None
        opened = os.fstat(handle.fileno())
        fp_len, fp = self._head(handle)
        offset = self._resume_offset(path, opened, fp_len, fp)
        new_tail = _Tail(path, handle, opened.st_dev, opened.st_ino, fp_len, fp, offset)
        handle.seek(offset)
        if offset == opened.st_size or self._first_scan:
            self._emit(Batch((), (new_tail.position(self.name),)))
        return new_tail

    def _resume_offset(self, path: str, stat: os.stat_result, fp_len: int, fp: str) -> int:
        stored = self.store.position(self.name, path)
        if stored is not None:
            try:
                known = json.loads(stored)
                same = (known["dev"], known["ino"]) == (stat.st_dev, stat.st_ino)
                head_same = known["fp_len"] <= fp_len and self._head_matches(
                    path, known["fp_len"], known["fp"]
                )
                if same and head_same and known["offset"] <= stat.st_size:
                    return int(known["offset"])
            except (ValueError, KeyError, TypeError):
                log.warning("source %s: unreadable stored position for %s", self.name, path)
            # A different file now lives at this path: everything in it is new.
            return 0
        if self._first_scan and self.settings.start_at == "end":
            return stat.st_size
        return 0  # appeared while running, or start_at: beginning

    def _head_matches(self, path: str, length: int, fingerprint: str) -> bool:
        try:
            with open(path, "rb") as handle:
                return _fingerprint(handle.read(length)) == fingerprint
        except OSError:
            return False

    # -- reading --------------------------------------------------------------------------

    def _read(self, tail: _Tail) -> None:
        """Read to the end of the file in chunks, one batch per chunk of complete lines."""
        while not self._stop.is_set():
            start = tail.offset + len(tail.pending)
            tail.handle.seek(start)
            data = tail.handle.read(CHUNK)
            if not data:
                return
            if tail.fp_len < FINGERPRINT_BYTES:
                tail.fp_len, tail.fp = self._head(tail.handle)
            events = self._split(tail, start, data)
            self._emit(Batch(tuple(events), (tail.position(self.name),)))

    def _split(self, tail: _Tail, start: int, data: bytes) -> list[Event]:
        events: list[Event] = []
        newline = self.newline
        buffer = bytes(tail.pending) + data
        base = start - len(tail.pending)  # file offset of buffer[0]
        cursor = 0
        while True:
            end = buffer.find(newline, cursor)
            if end < 0:
                break
            line = buffer[cursor:end]
            if tail.skipping:
                tail.skipping = False
            else:
                events.append(self._event(tail, base + cursor, line))
            cursor = end + len(newline)
        rest = buffer[cursor:]
        tail.offset = base + cursor
        if len(rest) > self.max_line and not tail.skipping:
            # Bounded memory: emit the head of an over-long line now, drop the rest of it.
            events.append(self._event(tail, tail.offset, rest[: self.max_line], truncated=True))
            tail.skipping = True
        if tail.skipping:
            tail.offset += len(rest)
            rest = b""
        tail.pending = bytearray(rest)
        return events

    def _flush_partial(self, tail: _Tail) -> None:
        """A rotated file's unterminated last line is complete: nothing more will be added."""
        if tail.pending and not tail.skipping:
            event = self._event(tail, tail.offset, bytes(tail.pending))
            tail.offset += len(tail.pending)
            tail.pending.clear()
            self._emit(Batch((event,), (tail.position(self.name),)))

    def _event(self, tail: _Tail, offset: int, raw: bytes, truncated: bool = False) -> Event:
        if len(raw) > self.max_line:
            raw, truncated = raw[: self.max_line], True
        text = raw.decode(self.settings.encoding, errors="replace").rstrip("\r")
        if offset == 0:
            text = text.removeprefix("\ufeff")
        if truncated:
            text += TRUNCATED
        return Event(
            id=stable_id(self.name, tail.dev, tail.ino, offset, raw),
            source=self.name,
            kind="line",
            text=text,
            time=time.time(),
            fields={"line": text, "path": tail.path},
        )
