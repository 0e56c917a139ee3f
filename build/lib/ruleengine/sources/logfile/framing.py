"""Bytes → lines: BOM detection, newline framing on code units, and the line-length cap.

Pure and bounded: a ``LineSplitter`` never holds more than ``max_line`` bytes of an unfinished
line, whatever the file holds, and every line it returns carries its exact byte offsets.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Codecs whose output itself starts with a BOM: framing needs the explicit byte order.
_BOM_CODECS = {"utf-16": "utf-16-le", "utf-32": "utf-32-le", "utf-8-sig": "utf-8"}


@dataclass(frozen=True, slots=True)
class Framing:
    """How a file's bytes become text: codec, newline bytes, code unit size, BOM length."""

    codec: str
    newline: bytes
    unit: int
    bom: int

    def decode(self, raw: bytes) -> str:
        """Text of one line: invalid bytes replaced, CR of CRLF and NUL bytes dropped."""
        text = raw.decode(self.codec, errors="replace")
        if text.endswith("\r"):
            text = text[:-1]
        if "\x00" in text:
            # Sparse holes (a copytruncate'd file written without O_APPEND) and stray NULs
            # carry no meaning and break receivers that use C strings.
            text = text.replace("\x00", "")
        return text

    def decode_block(self, body: memoryview) -> tuple[str, int] | None:
        """Lines joined by newlines (``feed_block``) as (text joined by ``\\n``, line count),
        each line as ``decode`` makes it; None where one pass cannot be exact."""
        if self.unit != 1:
            return None
        text = str(body, self.codec, "replace")
        plain = text.isascii() and len(text) == len(body)
        if plain and "\r" not in text and "\x00" not in text:
            return text, text.count("\n") + 1  # nothing replaced or dropped: the same lines
        count = body.tobytes().count(self.newline) + 1
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        if "\x00" in text:
            text = text.replace("\x00", "")
        return (text, count) if text.count("\n") == count - 1 else None

    def decode_many(self, raws: list[bytes]) -> list[str]:
        """``decode`` of each line, done in one pass over the chunk where that is exact."""
        if self.unit != 1 or not raws:
            return [self.decode(raw) for raw in raws]
        # b"\n" never occurs inside a character of a codec framed on b"\n", so the joined
        # text splits back into the same lines; the count check guards exotic codecs.
        text = (b"\n".join(raws) + b"\n").decode(self.codec, errors="replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if "\x00" in text:
            text = text.replace("\x00", "")
        lines = text.split("\n")
        lines.pop()
        if len(lines) != len(raws):
            return [self.decode(raw) for raw in raws]
        return lines


def framing_for(head: bytes, configured: str) -> Framing | None:
    """The framing of a file starting with ``head``; None while too short to tell (BOM prefix)."""
    if not head:
        return None
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return _framing(codec, len(bom))
        if len(head) < len(bom) and bom.startswith(head):
            return None  # could still become this BOM
    name = codecs.lookup(configured).name
    return _framing(_BOM_CODECS.get(name, name), 0)


def _framing(codec: str, bom: int) -> Framing:
    newline = "\n".encode(codec)
    return Framing(codec=codec, newline=newline, unit=len(newline), bom=bom)


# One line's [start, end) span in the file (end is just past the newline, or past the bytes
# consumed for a truncated head), its bytes (newline excluded, capped) and whether it was cut.
# A plain tuple: millions of them are made while a backlog is read.
RawLine = tuple[int, int, bytes, bool]


class LineSplitter:
    """Feed consecutive chunks; get complete lines back. Holds at most one unfinished line."""

    def __init__(self, framing: Framing, max_line: int, start: int, skipping: bool) -> None:
        self.framing = framing
        self.max_line = max_line
        self.pending = b""
        self.pending_start = start  # file offset of pending[0]: where an unread line begins
        self.skipping = skipping  # inside an over-long line whose head was already emitted

    @property
    def read_pos(self) -> int:
        """File offset of the next byte to feed."""
        return self.pending_start + len(self.pending)

    def feed(self, data: bytes) -> list[RawLine]:
        buffer = self.pending + data if self.pending else data
        base = self.pending_start
        if self.framing.unit == 1:
            pieces = buffer.split(self.framing.newline)
        else:
            pieces = _split_units(buffer, self.framing.newline, self.framing.unit, base)
        rest = pieces.pop()
        lines: list[RawLine] = []
        width = len(self.framing.newline)
        cursor = base
        cap = self.max_line
        for piece in pieces:
            end = cursor + len(piece) + width
            if self.skipping:
                self.skipping = False  # the tail of a line already emitted truncated
            elif len(piece) > cap:
                lines.append((cursor, end, piece[: self._cut(cap)], True))
            else:
                lines.append((cursor, end, piece, False))
            cursor = end
        if self.skipping:
            cursor += len(rest)
            rest = b""
        elif len(rest) > cap:
            # Bounded memory: emit the head of the over-long line now, drop the rest of it.
            lines.append((cursor, cursor + len(rest), rest[: self._cut(cap)], True))
            cursor += len(rest)
            rest = b""
            self.skipping = True
        self.pending = rest
        self.pending_start = cursor
        return lines

    def feed_block(self, data: bytes) -> tuple[int, memoryview] | None:
        """The complete lines of the next chunk in bulk: (file offset of the first, their bytes
        joined by newlines). None, with nothing consumed, when ``feed`` must do it: a
        multi-byte code unit, an over-long line, or no complete line yet. No per-line Python
        work: this is the path of a backlog.
        """
        newline = self.framing.newline
        if self.framing.unit != 1 or self.skipping:
            return None
        buffer = self.pending + data if self.pending else data
        cut = buffer.rfind(newline)
        if cut < 0 or len(buffer) - cut - 1 > self.max_line:
            return None
        if self._holds_long_line(buffer, cut):
            return None
        base = self.pending_start
        self.pending = buffer[cut + 1 :]
        self.pending_start += cut + 1
        return base, memoryview(buffer)[:cut]  # a view: a backlog's megabytes are not copied

    def _holds_long_line(self, buffer: bytes, size: int) -> bool:
        """Whether a line of ``buffer[:size]`` is longer than ``max_line``, looking at few
        bytes: such a line contains a whole aligned block of half its length, so blocks
        holding a newline rule it out."""
        newline, cap = self.framing.newline, self.max_line
        step = (cap + 1) // 2
        if size <= cap:
            return False
        if step >= 4096 and all(
            buffer.find(newline, k, k + step) >= 0 for k in range(0, size - step + 1, step)
        ):
            return False
        return max(map(len, buffer[:size].split(newline))) > cap

    def take_pending(self) -> RawLine | None:
        """The unfinished last line as a complete one (its file will not grow any more)."""
        if not self.pending:
            return None
        line = (self.pending_start, self.read_pos, self.pending, False)
        self.pending_start = self.read_pos
        self.pending = b""
        return line

    def _cut(self, cap: int) -> int:
        return cap - cap % self.framing.unit  # never split a UTF-16 code unit


def _split_units(buffer: bytes, newline: bytes, unit: int, base: int) -> list[bytes]:
    """Split on ``newline`` only where it sits on a code-unit boundary (UTF-16: b"\\n\\0" at
    an even offset), so a character like U+0A00 is never mistaken for a newline."""
    pieces: list[bytes] = []
    start = 0
    search = 0
    while True:
        found = buffer.find(newline, search)
        if found < 0:
            break
        if (base + found) % unit:
            search = found + 1
            continue
        pieces.append(buffer[start:found])
        start = search = found + len(newline)
    pieces.append(buffer[start:])
    return pieces
