"""How a notification is stored in an outbox row: compressed JSON without the id and the
destination, which are columns of their own. Read back by the outbox and by the history."""

from __future__ import annotations

import json
import zlib
from typing import Any

from ruleengine.model import Notification

_COMPRESSION = 6


def encode(notification: Notification) -> bytes:
    """The stored form: compressed JSON without the id and destination (they are columns)."""
    record = notification.to_record()
    del record["id"], record["destination"]
    return zlib.compress(json.dumps(record, separators=(",", ":")).encode(), _COMPRESSION)


def decode_record(stored: bytes | str, id_: str, destination: str) -> dict[str, Any]:
    """A stored record as ``Notification.to_record`` made it (rows before schema 4 are JSON)."""
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return {**json.loads(text), "id": id_, "destination": destination}
