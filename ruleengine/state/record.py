"""How a notification is stored in an outbox row: JSON without the id and the destination,
which are columns of their own, compressed when long. Read back by the outbox and the history."""

from __future__ import annotations

import json
import zlib
from typing import Any

from ruleengine.model import Notification

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
    text = _COMPACT.encode(notification.stored())
    raw = text.encode()
    if len(raw) < COMPRESS_FROM:
        return text, len(raw)
    packer = zlib.compressobj(_COMPRESSION, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL)
    packed = packer.compress(raw) + packer.flush()
    return packed, len(packed)


def decode_record(stored: bytes | str, id_: str, destination: str) -> dict[str, Any]:
    """A stored record as ``Notification.to_record`` made it: compressed (bytes) or JSON text
    (short records, and every row before schema 4)."""
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return {**json.loads(text), "id": id_, "destination": destination}
