"""Drive a real LogfileSource against a real Store, committing batches through the engine's
own ``process`` (one transaction: notifications + positions), plus a continuous log writer."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruleengine.config.schema import Defaults, Rule
from ruleengine.config.sources import LogfileSource as LogfileSettings
from ruleengine.engine import Engine
from ruleengine.model import Batch, Event
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.base import SourceContext
from ruleengine.sources.logfile.source import LogfileSource
from ruleengine.state import Store
from tests.support.outbox import outbox_texts
from tests.support.poll import eventually

SOURCE = "app"


class Harness:
    """One state directory; sources started and stopped on it like daemon restarts."""

    def __init__(self, state_dir: Path, **settings: Any) -> None:
        self.store = Store(state_dir)
        rule = Rule(name="all", source=[SOURCE], message="{{ line }}", to=["sink"])
        self.engine = Engine(compile_rules([rule], Defaults()), self.store, lambda _d: None)
        self.settings = LogfileSettings(type="logfile", **settings)
        self.events: list[Event] = []
        self.batches: list[Batch] = []
        self.source: LogfileSource | None = None
        self._lock = threading.Lock()

    def emit(self, batch: Batch) -> None:
        self.engine.process(batch)  # the engine's own commit path, on the source's thread
        with self._lock:
            self.events.extend(batch.every_event())
            self.batches.append(batch)

    def start(self) -> LogfileSource:
        context = SourceContext(SOURCE, self.store.positions_of(SOURCE), Path)
        self.source = LogfileSource(self.settings, context)
        self.source.start(self.emit)
        return self.source

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None

    def close(self) -> None:
        self.stop()
        self.store.close()

    def texts(self) -> list[str]:
        with self._lock:
            return [event.text for event in self.events]

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> bool:
        """True once ``predicate(texts)`` holds, False if it still does not after ``timeout``."""
        try:
            eventually(lambda: predicate(self.texts()), timeout, interval=0.05)
        except AssertionError:
            return False
        return True

    def outbox_texts(self) -> list[str]:
        """Texts of every outbox row (each event matched exactly once is one row)."""
        return outbox_texts(self.store.path)


def duplicates(texts: list[str]) -> list[str]:
    return [text for text, count in Counter(texts).items() if count > 1]


class Writer(threading.Thread):
    """Appends numbered lines to ``path`` at a steady rate; ``reopen()`` follows a rotation."""

    def __init__(self, path: Path, per_second: int = 4000, prefix: str = "line") -> None:
        super().__init__(name="test-writer", daemon=True)
        self.path = path
        self.interval = 1.0 / per_second
        self.prefix = prefix
        self.written = 0
        self.generation = 0
        self.generation_of: list[int] = []  # generation each line went to
        self._reopen = threading.Event()
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - O_APPEND, like loggers

    def line(self, n: int) -> str:
        return f"{self.prefix} {n:07d} payload for the rotation test"

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._halt.is_set():
            with self._lock:
                if self._reopen.is_set():
                    self.handle.close()
                    self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                    self.generation += 1
                    self._reopen.clear()
                # A burst per tick keeps thousands of lines a second cheap on a busy machine.
                for _ in range(20):
                    self.handle.write(self.line(self.written) + "\n")
                    self.generation_of.append(self.generation)
                    self.written += 1
                self.handle.flush()
            next_at += 20 * self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def reopen(self) -> None:
        """Ask the writer to reopen its path at the next tick (as after a SIGHUP)."""
        self._reopen.set()

    def stop(self) -> None:
        self._halt.set()
        self.join(5.0)
        with self._lock:
            self.handle.close()

    def lines(self) -> list[str]:
        return [self.line(n) for n in range(self.written)]


def file_lines(path: Path) -> list[str]:
    """Lines currently in a file (empty when it is gone)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def inode(path: Path) -> int:
    return os.stat(path).st_ino


# Rotation styles, as logrotate does them; ``n`` numbers the rotated name.


def rename_create(log: Path, n: int, writer: Writer) -> None:
    os.rename(log, f"{log}.{n}")
    time.sleep(0.02)  # the writer keeps writing to the renamed file until it reopens
    writer.reopen()


def copy_truncate(log: Path, n: int, writer: Writer) -> None:
    shutil.copyfile(log, f"{log}.{n}")
    os.truncate(log, 0)


def delete_recreate(log: Path, n: int, writer: Writer) -> None:
    os.unlink(log)
    time.sleep(0.02)
    writer.reopen()


ROTATIONS = {"rename": rename_create, "copytruncate": copy_truncate, "delete": delete_recreate}
