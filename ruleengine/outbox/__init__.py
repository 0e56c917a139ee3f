"""The durable outbox: notifications and source positions committed together in SQLite."""

from ruleengine.outbox.store import OutboxRow, Store

__all__ = ["OutboxRow", "Store"]
