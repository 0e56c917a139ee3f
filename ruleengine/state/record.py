"""How a notification is stored in an outbox row: compressed JSON without the id and the
destination, which are columns of their own. Read back by the outbox and by the history."""

from __future__ import annotations

import json
import zlib
from typing import Any

from ruleengine.model import Notification

_COMPRESSION = 6
# An 8 KB window and memLevel 6 instead of zlib's 32 KB and 8: a record is a few hundred
# bytes to a few KB, so the ratio is the same, but setting up the larger state took ~44 µs of
# the engine's commit per notification against ~10 µs. zlib.decompress reads either.
_WINDOW_BITS, _MEMORY_LEVEL = 13, 6


def encode(notification: Notification) -> bytes:
    """The stored form: compressed JSON without the id and destination (they are columns)."""
    record = notification.to_record()
    del record["id"], record["destination"]
    packer = zlib.compressobj(_COMPRESSION, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL)
    data = json.dumps(record, separators=(",", ":")).encode()
    return packer.compress(data) + packer.flush()


def decode_record(stored: bytes | str, id_: str, destination: str) -> dict[str, Any]:
    """A stored record as ``Notification.to_record`` made it (rows before schema 4 are JSON)."""
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return {**json.loads(text), "id": id_, "destination": destination}
