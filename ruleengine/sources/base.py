"""The Source protocol and its context.

Sources watch the outside world and emit ``Batch``es of events to the engine.

A source never commits anything itself: each batch carries the position to persist, and the
engine writes it in the same transaction as the batch's notifications.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ruleengine.model import Batch
from ruleengine.state import Store

Emit = Callable[[Batch], None]


class Source(Protocol):
    name: str

    def start(self, emit: Emit) -> None:
        """Start watching; return once watching (files already there are then pending work)."""
        ...

    def stop(self) -> None:
        """Stop watching and join the source's threads."""
        ...


@dataclass(frozen=True)
class SourceContext:
    name: str
    store: Store
    resolve: Callable[[str], Any]  # rules-file-relative path → Path


SourceFactory = Callable[[Any, SourceContext], Source]
