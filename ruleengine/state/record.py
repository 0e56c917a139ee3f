"""How a notification is stored in an outbox row: JSON without the id and the destination,
which are columns of their own, compressed when long. Read back by the outbox and the history."""

from __future__ import annotations

import json
import zlib
from typing import Any

from ruleengine.model import Notification

_COMPRESSION = 6
# Below this many bytes of JSON a record is stored as text: zlib's setup alone costs ~40 µs a
# call (most of a catch-up's commit), and a few hundred bytes compress by a third at best.
COMPRESS_FROM = 1024


def encode(notification: Notification) -> tuple[bytes | str, int]:
    """The stored form and its size in bytes: JSON without the id and destination (they are
    columns), compressed when it is long (a digest, a long log line)."""
    record = notification.to_record()
    del record["id"], record["destination"]
    text = json.dumps(record, separators=(",", ":"))
    raw = text.encode()
    if len(raw) < COMPRESS_FROM:
        return text, len(raw)
    packed = zlib.compress(raw, _COMPRESSION)
    return packed, len(packed)


def decode_record(stored: bytes | str, id_: str, destination: str) -> dict[str, Any]:
    """A stored record as ``Notification.to_record`` made it: compressed (bytes) or JSON text
    (short records, and every row before schema 4)."""
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return {**json.loads(text), "id": id_, "destination": destination}
