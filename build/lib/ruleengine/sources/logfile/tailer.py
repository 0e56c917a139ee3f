"""One followed file generation: an open handle read in chunks into events.

The tail knows two offsets: how far it has read, and where reading must resume after a restart
(the first byte not yet inside an emitted event: an unfinished last line, or the first line of an
open multi-line group). Only the second is persisted.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import BinaryIO

from ruleengine.model import Event, Lines, stable_id
from ruleengine.sources.logfile import compressed
from ruleengine.sources.logfile.framing import Framing, LineSplitter, RawLine, framing_for
from ruleengine.sources.logfile.multiline import Grouper, Line
from ruleengine.sources.logfile.rotation import FINGERPRINT_BYTES, FileState, fingerprint, read_head

CHUNK = 1024 * 1024
TRUNCATED = " [… line truncated]"

#: What a read yields: lines in bulk, or events (multi-line groups, or lines whose text does
#: not split back into lines on ``\n``).
Chunk = Lines | list[Event]


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

    def read_chunk(self) -> Chunk | None:
        """The lines (or events) completed by the next chunk of the file; None at its end."""
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
        if self.grouper is None:
            block = splitter.feed_block(data)
            if block is not None:
                return self._block(splitter.framing, *block)
        return self._chunk(splitter.framing, splitter.feed(data))

    def _block(self, framing: Framing, base: int, body: memoryview) -> Chunk:
        """Lines from ``feed_block``, decoded in one pass. Per-line offsets are computed only
        when the text is not one byte per character (else the text position gives it)."""
        decoded = framing.decode_block(body)
        token, now = self.state.token, time.time()
        if decoded is not None and decoded[0].isascii() and len(decoded[0]) == len(body):
            return Lines(self.source, self.label, token, decoded[0], decoded[1], base, None, now)
        newline = framing.newline
        pieces = body.tobytes().split(newline)
        starts = list(accumulate(map(len(newline).__add__, map(len, pieces)), initial=base))
        del starts[-1]
        if decoded is not None:
            text, count = decoded
            return Lines(self.source, self.label, token, text, count, base, starts, now)
        raws = [(start, 0, raw, False) for start, raw in zip(starts, pieces, strict=True)]
        return self._chunk(framing, raws)

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
                chunk = self._chunk(self.splitter.framing, [last])
                events = chunk.events() if isinstance(chunk, Lines) else chunk
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

    def _chunk(self, framing: Framing, raws: list[RawLine]) -> Chunk:
        decode = framing.decode
        if self.grouper is not None:
            now = time.monotonic()
            groups = [
                self.grouper.add(Line(start, end, decode(raw), cut), now)
                for start, end, raw, cut in raws
            ]
            return [self._event(group) for group in groups if group is not None]
        if not raws:
            return []
        texts = framing.decode_many([raw for _start, _end, raw, _cut in raws])
        if any(cut for _start, _end, _raw, cut in raws):
            texts = [
                text + TRUNCATED if cut else text
                for text, (_start, _end, _raw, cut) in zip(texts, raws, strict=True)
            ]
        text = "\n".join(texts)
        if text.count("\n") != len(texts) - 1:  # a codec decoded a line holding \n
            return [
                self._event(Line(start, end, line, False))
                for (start, end, _raw, _cut), line in zip(raws, texts, strict=True)
            ]
        return self._lines(text, [start for start, _end, _raw, _cut in raws])

    def _lines(self, text: str, starts: list[int]) -> Lines:
        token = self.state.token
        return Lines(self.source, self.label, token, text, len(starts), 0, starts, time.time())

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


def open_generation(  # noqa: PLR0917 - the source's one call shape
    path: str,
    state: FileState | None,
    offset: int,
    shrunk_ok: bool,
    options: TailOptions,
    label: str,
    *,
    packed: bool = False,
) -> Tail | None:
    """A tail on ``path``: a new generation read from ``offset`` (``state`` None), or the
    generation ``state`` describes if the file still starts like it (and, unless
    ``shrunk_ok``, is not shorter than its offset); None when it does not, or when it is
    compressed (``packed``) in a format the standard library cannot read. OSError when the
    file cannot be opened."""
    handle = compressed.open_stream(path, packed)  # kept open to drain after rotation
    if handle is None:
        return None
    try:
        opened = os.fstat(handle.fileno())
        head = read_head(handle)
        # A compressed file's size says nothing about the offsets of the text it holds.
        shrunk = not packed and state is not None and opened.st_size < state.offset
        if state is None:
            state = FileState.new(opened, head, offset)
        elif not state.head_matches(head) or (not shrunk_ok and shrunk):
            handle.close()
            return None
        else:
            state = replace(state, dev=opened.st_dev, ino=opened.st_ino)
    except compressed.ERRORS:
        handle.close()
        return None
    return Tail(path, handle, replace(state, where=path), options, label=label)


def open_tail(path: str, options: TailOptions) -> Tail:
    """A tail reading ``path`` from its start (``test --file``: the daemon's own reading)."""
    tail = open_generation(path, None, 0, True, options, path)
    if tail is None:
        raise OSError(f"cannot read {path}")
    return tail


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
