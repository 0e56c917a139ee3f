"""A streaming parser of journalctl's export format, bounded in memory.

The format (systemd's JOURNAL_EXPORT_FORMATS): each field is ``NAME=value\\n``, or, when the
value holds a newline or non-printable bytes, ``NAME\\n`` + a 64-bit little-endian size + the raw
value + ``\\n``; an empty line ends the entry. Values are kept up to ``cap`` bytes each (the
source's ``max_line``, as for log lines); the rest is skipped without being held, so a huge or
hostile field costs no memory. Pure: bytes in, entries out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Entry = dict[str, list[bytes]]  # a field may repeat; values in order of appearance
SIZE = 8


@dataclass
class ExportParser:
    cap: int
    truncated: set[str] = field(default_factory=set)  # fields cut in the entry being parsed
    _buffer: bytearray = field(default_factory=bytearray)
    _entry: Entry = field(default_factory=dict)
    _name: str | None = None  # a binary field being read
    _keep: int = 0  # its bytes still to keep
    _drop: int = 0  # then bytes still to skip (the rest of the value and its newline)
    _value: bytearray = field(default_factory=bytearray)
    _skip_line: bool = False  # skipping the rest of an over-long text field

    def feed(self, data: bytes) -> list[tuple[Entry, set[str]]]:
        """Parse what ``data`` completes; returns finished entries with their truncated fields."""
        self._buffer += data
        done: list[tuple[Entry, set[str]]] = []
        buffer = self._buffer
        pos = 0
        end = len(buffer)
        while pos < end:
            if self._name is not None:
                pos = self._binary(buffer, pos, end)
                continue
            if not self._entry and not self._skip_line:
                fast = self._whole_text_entry(buffer, pos)
                if fast is not None:
                    done.append((fast[0], set()))
                    pos = fast[1]
                    continue
            step = self._step(buffer, pos, end, done)
            if step is None:
                break  # the rest of a line or of a size has not arrived yet
            pos = step
        del buffer[:pos]
        return done

    def _step(
        self, buffer: bytearray, pos: int, end: int, done: list[tuple[Entry, set[str]]]
    ) -> int | None:
        """Consume one line (or the head of a binary field); None when more data is needed."""
        newline = buffer.find(b"\n", pos)
        if self._skip_line or newline < 0:
            return self._unfinished(buffer, pos, end, newline)
        if newline == pos:  # the empty line: the entry is complete
            if self._entry:
                done.append((self._entry, self.truncated))
                self._entry, self.truncated = {}, set()
            return pos + 1
        line = buffer[pos:newline]
        if b"=" in line:
            self._text_field(bytes(line), cut=False)
            return newline + 1
        return self._binary_head(buffer, bytes(line), newline, end)

    def _unfinished(self, buffer: bytearray, pos: int, end: int, newline: int) -> int | None:
        """Skipping the rest of an over-long line, or a line whose end has not arrived."""
        if self._skip_line:
            self._skip_line = newline < 0
            return end if newline < 0 else newline + 1
        if end - pos > self.cap + 256:  # a text field longer than the cap
            self._text_field(bytes(buffer[pos : pos + self.cap + 256]), cut=True)
            self._skip_line = True
            return end
        return None

    def _binary_head(self, buffer: bytearray, line: bytes, newline: int, end: int) -> int | None:
        if end - newline - 1 < SIZE:
            return None
        size = int.from_bytes(buffer[newline + 1 : newline + 1 + SIZE], "little")
        self._name = line.decode("ascii", "replace")
        self._keep = min(size, self.cap)
        self._drop = size - self._keep + 1
        if size > self.cap:
            self.truncated.add(self._name)
        self._value = bytearray()
        return newline + 1 + SIZE

    def _whole_text_entry(self, buffer: bytearray, pos: int) -> tuple[Entry, int] | None:
        """The common case at C speed: a complete entry of short ``NAME=value`` fields, each
        name once. Anything else (binary or over-long fields, repeats) takes the general path."""
        stop = buffer.find(b"\n\n", pos)
        if stop < 0 or stop - pos > self.cap:
            return None
        lines = bytes(buffer[pos:stop]).split(b"\n")
        try:
            pairs = dict(line.split(b"=", 1) for line in lines)
        except ValueError:  # a line without '=': a binary field's name
            return None
        if len(pairs) != len(lines):
            return None
        return {k.decode("ascii", "replace"): [v] for k, v in pairs.items()}, stop + 2

    def _text_field(self, line: bytes, cut: bool) -> None:
        name, _, value = line.partition(b"=")
        key = name.decode("ascii", "replace")
        if cut or len(value) > self.cap:
            self.truncated.add(key)
            value = value[: self.cap]
        self._entry.setdefault(key, []).append(value)

    def _binary(self, buffer: bytearray, pos: int, end: int) -> int:
        name = self._name or ""
        if self._keep:
            take = min(self._keep, end - pos)
            self._value += buffer[pos : pos + take]
            self._keep -= take
            pos += take
        if not self._keep and pos < end:
            take = min(self._drop, end - pos)
            self._drop -= take
            pos += take
            if not self._drop:
                self._entry.setdefault(name, []).append(bytes(self._value))
                self._name = None
                self._value = bytearray()
        return pos
