"""One followed file generation: an open handle read in chunks into events.

The tail knows two offsets: how far it has read, and where reading must resume after a restart
(the first byte not yet inside an emitted event: an unfinished last line, or the first line of an
open multi-line group). Only the second is persisted.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from ruleengine.model import Event, stable_id
from ruleengine.sources.logfile.framing import Framing, LineSplitter, RawLine, framing_for
from ruleengine.sources.logfile.multiline import Grouper, Line
from ruleengine.sources.logfile.rotation import FINGERPRINT_BYTES, FileState, fingerprint, read_head

CHUNK = 1024 * 1024
TRUNCATED = " [… line truncated]"


@dataclass(frozen=True, slots=True)
class TailOptions:
    """How a source reads its files (shared by all its tails)."""

    source: str
    encoding: str = "utf-8"
    max_line: int = 65536
    multiline: tuple[re.Pattern[str], float] | None = None  # (start regex, timeout)


class Tail:
    """Reads one file generation; not thread-safe (one source thread owns it)."""

    def __init__(
        self,
        path: str,
        handle: BinaryIO,
        state: FileState,
        options: TailOptions,
        *,
        label: str | None = None,
    ) -> None:
        self.source = options.source
        self.path = path  # the file read now (a rotated name, once rotated away)
        self.label = label or path  # the configured path, as events name it
        self.handle = handle
        self.state = state
        self.options = options
        self.grouper = (
            Grouper(options.multiline[0], options.multiline[1], options.max_line)
            if options.multiline is not None
            else None
        )
        self.splitter: LineSplitter | None = None
        self._id_prefix: Any = None
        self._id_token = ""
        self.idle_since = time.monotonic()  # last time the file grew

    # -- identity ---------------------------------------------------------------------------

    @property
    def key(self) -> tuple[int, int]:
        return (self.state.dev, self.state.ino)

    def same_file(self, stat: os.stat_result) -> bool:
        return (stat.st_dev, stat.st_ino) == self.key

    def head_changed(self) -> bool:
        """True when the file no longer starts as it did: truncated and rewritten."""
        return not self.state.head_matches(read_head(self.handle))

    @property
    def read_pos(self) -> int:
        return self.splitter.read_pos if self.splitter is not None else self.state.offset

    def current(self) -> FileState:
        """The state to persist now: resume at the first byte not inside an emitted event."""
        if self.splitter is None:
            return self.state
        group = self.grouper.open_start if self.grouper is not None else None
        end = self.splitter.read_pos
        if group is not None:
            return replace(self.state, offset=group, skip=False, end=end)
        return replace(
            self.state, offset=self.splitter.pending_start, skip=self.splitter.skipping, end=end
        )

    # -- reading ----------------------------------------------------------------------------

    def read_chunk(self) -> list[Event] | None:
        """Events completed by the next chunk of the file; None at end of file."""
        splitter = self.splitter or self._start_splitter()
        if splitter is None:
            return None
        self.handle.seek(splitter.read_pos)
        data = self.handle.read(CHUNK)
        if not data:
            return None
        self.idle_since = time.monotonic()
        if self.state.fp_len < FINGERPRINT_BYTES:
            head = read_head(self.handle)
            self.state = replace(self.state, fp_len=len(head), fp=fingerprint(head))
        return self._events(splitter.framing, splitter.feed(data))

    def due(self, now: float) -> list[Event]:
        """A multi-line group whose timeout has passed."""
        if self.grouper is None:
            return []
        group = self.grouper.due(now)
        return [self._event(group)] if group is not None else []

    def finish(self) -> list[Event]:
        """The file will not grow any more: its unfinished line and open group are complete."""
        events: list[Event] = []
        if self.splitter is not None:
            last = self.splitter.take_pending()
            if last is not None:
                events = self._events(self.splitter.framing, [last])
        if self.grouper is not None:
            group = self.grouper.flush()
            if group is not None:
                events.append(self._event(group))
        return events

    def close(self) -> None:
        self.handle.close()

    def _start_splitter(self) -> LineSplitter | None:
        """Decide the framing once the head shows whether there is a BOM."""
        framing = framing_for(read_head(self.handle, 4), self.options.encoding)
        if framing is None:
            return None
        # A BOM is not text: reading from the start means reading from after it.
        start = max(self.state.offset, framing.bom)
        self.splitter = LineSplitter(framing, self.options.max_line, start, self.state.skip)
        return self.splitter

    def _events(self, framing: Framing, raws: list[RawLine]) -> list[Event]:
        decode = framing.decode
        if self.grouper is not None:
            now = time.monotonic()
            groups = [
                self.grouper.add(Line(start, end, decode(raw), cut), now)
                for start, end, raw, cut in raws
            ]
            return [self._event(group) for group in groups if group is not None]
        # The hot path of a backlog: one event per line, nothing recomputed per line.
        ids = self._ids()
        source, path, stamp = self.source, self.label, time.time()
        events = []
        texts = framing.decode_many([raw for _start, _end, raw, _cut in raws])
        for (start, _end, _raw, cut), line in zip(raws, texts, strict=True):
            text = line + TRUNCATED if cut else line
            digest = ids.copy()
            digest.update(b"%d\x1f" % start)
            events.append(
                Event(
                    digest.hexdigest(),
                    source,
                    "line",
                    text,
                    stamp,
                    {"line": text, "path": path, "offset": start},
                )
            )
        return events

    def _event(self, line: Line) -> Event:
        text = line.text + TRUNCATED if line.truncated else line.text
        return Event(
            id=stable_id(self.source, self.state.token, line.start),
            source=self.source,
            kind="line",
            text=text,
            time=time.time(),
            fields={"line": text, "path": self.label, "offset": line.start},
        )

    def _ids(self) -> Any:
        """``stable_id(source, token, start)`` with the common prefix hashed once: within one
        file generation a start offset names exactly one line or group."""
        if self._id_prefix is None or self._id_token != self.state.token:
            digest = hashlib.blake2b(digest_size=16)
            for part in (self.source, self.state.token):
                digest.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
            self._id_prefix, self._id_token = digest, self.state.token
        return self._id_prefix


BACKSCAN = 65536  # start_at: end looks this far back for the end of the last complete line


def end_of_last_line(path: str, size: int, encoding: str) -> int:
    """Where ``start_at: end`` starts: just after the last complete line, so a line being
    written at that moment is read whole rather than from its middle."""
    if size == 0:
        return 0
    try:
        with open(path, "rb") as handle:
            framing = framing_for(read_head(handle, 4), encoding)
            begin = max(0, size - BACKSCAN)
            handle.seek(begin)
            data = handle.read(size - begin)
    except OSError:
        return size
    newline = framing.newline if framing is not None else b"\n"
    cut = len(data)
    while (cut := data.rfind(newline, 0, cut)) >= 0:
        if (begin + cut) % len(newline) == 0:
            return begin + cut + len(newline)
    return size
