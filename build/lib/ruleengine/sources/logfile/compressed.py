"""Rotated generations that logrotate compressed (``compress``): opened as a stream of the
original bytes, so a generation is read on from the offset its state names and its head
fingerprint is compared against the decompressed head.

Recognised by their magic bytes, not their names (``compressext`` can be anything): gzip, bzip2
and xz, all with the standard library. Other formats (zstd, lz4) are not read; their names are
known so they are never taken for plain text.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from typing import BinaryIO, cast

#: Names logrotate gives compressed generations (``compressext``'s usual values).
SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".z")
_MAGIC: list[tuple[bytes, Callable[[BinaryIO], io.BufferedIOBase]]] = [
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", lambda raw: bz2.BZ2File(raw, mode="rb")),
    (b"\xfd7zXZ\x00", lambda raw: lzma.LZMAFile(raw, mode="rb")),  # noqa: SIM115 - a stream
]
#: What a damaged or unsupported compressed file raises while being read.
ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError)


def compressed_name(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def plain_name(name: str) -> str:
    """``app.log.2.gz`` → ``app.log.2``: the name logrotate compressed."""
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def wrap(raw: BinaryIO) -> BinaryIO | None:
    """A decompressing reader over ``raw`` (positioned at 0) when it is gzip, bzip2 or xz;
    None for anything else. ``raw`` stays owned by the reader: closing one closes both."""
    magic = raw.read(6)
    raw.seek(0)
    for prefix, opener in _MAGIC:
        if magic.startswith(prefix):
            return cast(BinaryIO, _Closing(opener(raw), raw))
    return None


def open_stream(path: str, packed: bool) -> BinaryIO | None:
    """A file generation as a stream of the bytes it holds: ``packed`` ones decompressed;
    None when compressed in a format we cannot read. OSError when it cannot be opened."""
    # Unbuffered: a buffer would keep serving the old head after a copytruncate, so the
    # truncation would go unseen and old and new bytes would be read as one file.
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 - returned open, or closed below
    if not packed:
        return raw
    stream = wrap(raw)
    if stream is None:
        raw.close()
    return stream


class _Closing:
    """A decompressing reader that also closes the file under it (gzip/bz2/lzma over a
    ``fileobj`` leave it open)."""

    def __init__(self, reader: io.BufferedIOBase, raw: BinaryIO) -> None:
        self._reader = reader
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        # Backwards means decompressing again from the start: the tail only seeks back to
        # read the head, once per generation.
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._raw.close()
