"""The durable outbox: notifications and source positions committed together in SQLite."""

from ruleengine.outbox.store import DeadLetter, OutboxRow, Store

__all__ = ["DeadLetter", "OutboxRow", "Store"]
