"""The Source protocol and its context.

Sources watch the outside world and emit ``Batch``es of events to the engine.

A source never commits anything itself: each batch carries the positions to persist, and the
engine writes them in the same transaction as the batch's notifications. Through its context a
source only reads its positions back and forgets keys it no longer needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ruleengine.model import Batch

Emit = Callable[[Batch], None]


class Source(Protocol):
    name: str

    def start(self, emit: Emit) -> None:
        """Start watching; return once watching (files already there are then pending work)."""
        ...

    def stop(self) -> None:
        """Stop watching and join the source's threads."""
        ...


class Positions(Protocol):
    """A source's committed positions (``state.positions.SourcePositions``), by key."""

    def get(self, key: str) -> str | None: ...

    def all(self) -> dict[str, str]: ...

    def forget(self, key: str) -> None:
        """Drop a key that is no longer needed (its file is gone for good)."""
        ...

    def expire(self, prefix: str, before: float) -> int:
        """Drop keys with ``prefix`` written before ``before`` (a retention window)."""
        ...


@dataclass(frozen=True)
class SourceContext:
    name: str
    positions: Positions
    resolve: Callable[[str], Any]  # rules-file-relative path → Path


SourceFactory = Callable[[Any, SourceContext], Source]
