"""The ``journal`` source: follow journalctl, one event per entry, the cursor as the position.

Guarantees as for log files: each batch carries the cursor of its last entry, committed by the
engine with the batch's notifications; a restart resumes after the committed cursor; the first
start begins per ``start_at`` (a journal directory that appears later is read from its start).
A cursor whose entry was vacuumed or rotated away is reported once, with what was skipped, and
reading continues from the oldest entry after it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ruleengine.config.sources import JournalSource as JournalSettings
from ruleengine.model import Batch, Event, Position
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.journal import cursor as position
from ruleengine.sources.journal.entry import cursor_of, to_event
from ruleengine.sources.journal.reader import (
    Follow,
    JournalError,
    entry_at,
    filter_args,
    last_cursor,
    location_args,
)

log = logging.getLogger(__name__)
WAIT = 1.0  # how often a missing journal directory is looked for
RETRY = 5.0  # after journalctl failed
BATCH = 1000  # entries per batch at most
IN_FLIGHT = 4  # batches emitted but not yet committed before reading pauses


class JournalSource:
    """The ``journal`` source. Like ``logfile``, its batches must reach an engine that commits
    them and calls ``on_committed``: reading pauses while too many are uncommitted."""

    def __init__(self, settings: JournalSettings, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.positions = context.positions
        self.directory = (
            Path(context.resolve(settings.directory)) if settings.directory is not None else None
        )
        self.files = [Path(context.resolve(p)) for p in settings.files]
        self.location = location_args(self.directory, self.files)
        self.filters = filter_args(settings)
        self._start: tuple[str | None] | None = None  # (cursor to resume from,) once known
        self._cursor: str | None = None  # the last entry emitted
        self._absent_at_start = False
        self._waiting = False  # "waiting for … to appear" was logged
        self._said: set[str] = set()  # warnings given once
        self._stop = threading.Event()
        self._committed = threading.Condition()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._emit: Emit = lambda _batch: None

    # -- the positions seam: the only place that reads or writes the source's position ----

    def _stored(self) -> tuple[str | None] | None:
        """(cursor,) as last committed, or None for a first start."""
        value = self.positions.get(position.KEY)
        if value is None:
            return None
        try:
            return (position.decode(value),)
        except ValueError:
            log.warning("source %s: unreadable stored journal position; starting afresh", self.name)
            return None

    def _position(self, cursor: str | None) -> Position:
        return Position(self.name, position.KEY, position.encode(cursor))

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, emit: Emit) -> None:
        """Find where to begin (so that entries written from now on are read), then follow."""
        self._emit = emit
        if self._present():
            self._begin()
        else:
            self._absent_at_start = True
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._committed:
            self._committed.notify_all()
        if self._thread is not None:
            self._thread.join(10.0)

    def _present(self) -> bool:
        if self.directory is not None:
            return self.directory.is_dir()
        return all(path.is_file() for path in self.files)

    def _begin(self) -> None:
        """Settle the starting cursor; a JournalError leaves it for the next attempt."""
        try:
            self._start = (self._resume(),)
        except JournalError as exc:
            self._warn_once(str(exc))

    def _resume(self) -> str | None:
        stored = self._stored()
        if stored is not None:
            saved = stored[0]
            if saved is not None:
                self._check_saved(saved)
            return saved
        if self.settings.start_at == "end" and not self._absent_at_start:
            cursor = last_cursor(self.location)
        else:
            cursor = None  # from the oldest entry
        self._send([], cursor)  # a first start is remembered even before any entry arrives
        return cursor

    def _check_saved(self, saved: str) -> None:
        """Say once if the saved cursor's entry is gone; reading then starts at the oldest
        entry after where it was (journalctl positions by sequence number or time)."""
        found = entry_at(self.location, saved)
        found_cursor = cursor_of(found) if found is not None else None
        if found_cursor == saved:
            return
        oldest = position.Cursor.parse(found_cursor) if found_cursor is not None else None
        log.warning(
            "source %s: the journal no longer holds the entry at the saved cursor (vacuumed or "
            "rotated away); continuing from the oldest entry after it: %s",
            self.name,
            position.gap(position.Cursor.parse(saved), oldest),
        )

    def _run(self) -> None:
        follow: Follow | None = None
        try:
            while not self._stop.is_set():
                if follow is None:
                    follow = self._open()
                    if follow is None:
                        continue
                try:
                    self._pump(follow)
                except JournalError as exc:
                    if self._stop.is_set():
                        break  # stopping: journalctl's end is expected
                    log.warning("source %s: %s; restarting it in %gs", self.name, exc, RETRY)
                    follow.close()
                    follow = None
                    self._stop.wait(RETRY)
        finally:
            if follow is not None:
                follow.close()

    def _open(self) -> Follow | None:
        if not self._present():
            if not self._waiting:
                missing = [str(p) for p in self.files if not p.is_file()]
                where = self.directory or ", ".join(missing)
                log.info("source %s: waiting for %s to appear", self.name, where)
                self._waiting = True
            self._stop.wait(WAIT)
            return None
        if self._waiting:
            self._waiting = False
            log.info("source %s: the journal appeared; reading it", self.name)
        if self._start is None:
            self._begin()
            if self._start is None:
                self._stop.wait(RETRY)
                return None
        cursor = self._cursor if self._cursor is not None else self._start[0]
        try:
            return Follow(self.location, self.filters, cursor, self.settings.max_line)
        except JournalError as exc:
            self._warn_once(str(exc))
            self._stop.wait(RETRY)
            return None

    def _pump(self, follow: Follow) -> None:
        """Wait a little for entries, then take what is ready, up to a batch."""
        parsed = follow.read(0.5)
        while parsed and len(parsed) < BATCH and not self._stop.is_set():
            more = follow.read(0.0)
            if not more:
                break
            parsed += more
        if not parsed:
            return
        events: list[Event] = []
        for entry, truncated in parsed:
            event = to_event(self.name, entry, truncated)
            if event is not None:
                events.append(event)
        cursor = next((c for e, _ in reversed(parsed) if (c := cursor_of(e)) is not None), None)
        if cursor is not None:
            self._cursor = cursor
        self._send(events, self._cursor)
        self._backpressure()

    # -- emitting -------------------------------------------------------------------------

    def _send(self, events: list[Event], cursor: str | None) -> None:
        with self._committed:
            self._in_flight += 1
        self._emit(Batch(tuple(events), (self._position(cursor),), self._on_committed))

    def _on_committed(self, _matched: bool) -> None:
        with self._committed:
            self._in_flight -= 1
            self._committed.notify_all()

    def _backpressure(self) -> None:
        with self._committed:
            while self._in_flight > IN_FLIGHT and not self._stop.is_set():
                self._committed.wait(0.5)

    def _warn_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            log.warning("source %s: %s", self.name, message)
