"""How a notification is stored in an outbox row: JSON without the id and the destination,
which are columns of their own, compressed when long. Read back by the outbox and the history.

Every notification is encoded here once, on the engine's path: orjson (a dependency where it
has wheels) does it in ~0.3 µs where the standard library's encoder takes ~4 µs. What orjson
refuses (a lone surrogate from a file name that is not UTF-8, an integer past 64 bits) and
machines without it get the standard library's, which reads and writes the same JSON.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from ruleengine.model import Notification

try:
    import orjson as _orjson
except ImportError:  # no wheel for this platform: the standard library's encoder
    _orjson = None  # type: ignore[assignment]

_COMPRESSION = 6
# Below this many bytes of JSON a record is stored as text: a few hundred bytes compress by a
# third at best, and even a small zlib state costs more than the row's insert.
COMPRESS_FROM = 1024
# An 8 KB window and memLevel 6 instead of zlib's 32 KB and 8: a long record is a few KB, so
# the ratio is the same, but setting up the larger state took ~44 µs a call against ~10 µs.
# zlib.decompress reads either.
_WINDOW_BITS, _MEMORY_LEVEL = 13, 6
_COMPACT = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per record


def encode(notification: Notification) -> tuple[bytes | str, int]:
    """The stored form and its size in bytes: JSON without the id and destination (they are
    columns), compressed when it is long (a digest, a long log line)."""
    raw = dumps(notification.stored())
    if len(raw) < COMPRESS_FROM:
        return raw.decode(), len(raw)
    packer = zlib.compressobj(_COMPRESSION, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL)
    packed = packer.compress(raw) + packer.flush()
    return packed, len(packed)


def decode_record(stored: bytes | str, id_: str, destination: str) -> dict[str, Any]:
    """A stored record as ``Notification.to_record`` made it: compressed (bytes) or JSON text
    (short records, and every row before schema 4)."""
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return {**loads(text), "id": id_, "destination": destination}


def dumps(record: dict[str, Any]) -> bytes:
    """Compact JSON of a record (UTF-8)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(record)
        except (_orjson.JSONEncodeError, TypeError):  # surrogates, huge integers: json takes them
            pass
    return _COMPACT.encode(record).encode()


def loads(text: bytes | str) -> Any:
    """A stored record's JSON (rows written before orjson may hold ``NaN``: json reads it)."""
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(text)
