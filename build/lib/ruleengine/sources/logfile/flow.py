"""A logfile source's batches on their way to the engine, with bounded read-ahead."""

from __future__ import annotations

import threading

from ruleengine.model import Batch, Lines, Position
from ruleengine.sources.base import Emit
from ruleengine.sources.logfile.tailer import Chunk

IN_FLIGHT = 4  # batches emitted but not yet committed before reading pauses


class Flow:
    """Emits a source's chunks as batches; ``wait`` pauses the reader while more than
    IN_FLIGHT are uncommitted (a backlog is read ahead of the commits in bounded memory)."""

    def __init__(self) -> None:
        self.emit: Emit = lambda _batch: None
        self._committed = threading.Condition()
        self._in_flight = 0
        self._stopping = False

    def send(self, chunk: Chunk, position: Position) -> None:
        with self._committed:
            self._in_flight += 1
        if isinstance(chunk, Lines):
            self.emit(Batch((), (position,), self._on_committed, lines=chunk))
        else:
            self.emit(Batch(tuple(chunk), (position,), self._on_committed))

    def wait(self) -> None:
        with self._committed:
            while self._in_flight > IN_FLIGHT and not self._stopping:
                self._committed.wait(0.5)

    def stop(self) -> None:
        with self._committed:
            self._stopping = True
            self._committed.notify_all()

    def _on_committed(self, _matched: bool) -> None:
        with self._committed:
            self._in_flight -= 1
            self._committed.notify_all()
