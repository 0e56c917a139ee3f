"""State kept per (rule name, key) slot, saved with each batch: the one bookkeeping that
throttle windows, threshold tallies and open alerts share.

The engine thread is the only writer. A slot changed since the last save is *dirty*;
``changes`` gives the dirty slots as rows to write and slots to delete, ``state.rules`` writes
them in the batch's transaction and then calls ``saved``. Slots of rules that are gone after a
reload are dropped (``keep_rules``); rules that keep their name keep their state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

Slot = tuple[str, str]  # (rule name, key)
V = TypeVar("V")
R = TypeVar("R")


class Keyed(ABC, Generic[V, R]):
    """Values by slot, with what changed since the last save."""

    def __init__(self, slots: dict[Slot, V] | None = None) -> None:
        self.slots: dict[Slot, V] = slots or {}
        self._dirty: set[Slot] = set()

    @abstractmethod
    def row(self, slot: Slot, value: V) -> R:
        """How a slot's value is saved."""

    def touch(self, slot: Slot) -> None:
        """The slot's value changed (or will): save it with the next batch."""
        self._dirty.add(slot)

    def drop(self, slot: Slot) -> None:
        del self.slots[slot]
        self._dirty.add(slot)

    def keep_rules(self, names: set[str]) -> None:
        """After a reload: drop the slots of rules that are gone (or no longer use this)."""
        for slot in [s for s in self.slots if s[0] not in names]:
            self.drop(slot)

    def changes(self) -> tuple[list[R], list[Slot]]:
        """What changed since ``saved``: rows to write, slots to delete."""
        written: list[R] = []
        deleted: list[Slot] = []
        for slot in self._dirty:
            value = self.slots.get(slot)
            if value is None:
                deleted.append(slot)
            else:
                written.append(self.row(slot, value))
        return written, deleted

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    def saved(self) -> None:
        """The transaction that wrote ``changes`` committed."""
        self._dirty.clear()
