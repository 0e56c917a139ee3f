"""The state database: outbox, source positions and rule state, committed together in SQLite."""

from ruleengine.state.store import DeadLetter, OutboxRow, Store

__all__ = ["DeadLetter", "OutboxRow", "Store"]
