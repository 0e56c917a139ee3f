"""Values passed between pipeline stages. All frozen: a stage never mutates what it was given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """Something a source observed: one log line or one marker file.

    ``id`` is stable for the same observation (same file identity and offset, same marker
    identity and content), so an event re-read after a crash yields the same outbox ids and
    is de-duplicated there.
    """

    id: str
    source: str
    kind: str  # "line" | "marker"
    text: str
    time: float
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Position:
    """A source position to persist in the same transaction as the batch's notifications.

    ``unmatched``, when set, is the value to store instead if no rule fired for the batch (a
    marker's ledger row records whether it was consumed or left unmatched).
    """

    source: str
    key: str
    value: str
    unmatched: str | None = None

    def settled(self, matched: bool) -> Position:
        """The position to store once the batch's outcome is known."""
        if matched or self.unmatched is None:
            return self
        return Position(self.source, self.key, self.unmatched)


@dataclass(frozen=True, slots=True)
class Lines:
    """Complete log lines of one file generation, read together and not yet made into events.

    ``text`` holds ``count`` decoded lines separated by ``\\n`` (no line contains one). The
    line starting at ``text[start]`` starts at byte ``base + start`` of the file when
    ``offsets`` is None (one byte per character), else at ``offsets[index]``. The rules scan
    ``text`` in one pass, and an ``Event`` (with its stable id) is built only for a line that
    a rule selects.
    """

    source: str
    path: str  # the configured path the events name
    token: str  # identity of the file generation: with an offset, names one line for ever
    text: str
    count: int
    base: int = 0
    offsets: Sequence[int] | None = None
    time: float = 0.0

    def __len__(self) -> int:
        return self.count

    def event(self, index: int, start: int, text: str) -> Event:
        """The event of line ``index``, found at ``text[start:]`` (for a rule that selects it)."""
        offset = self.base + start if self.offsets is None else self.offsets[index]
        return Event(
            stable_id(self.source, self.token, offset),
            self.source,
            "line",
            text,
            self.time,
            {"line": text, "path": self.path, "offset": offset},
        )

    def events(self) -> list[Event]:
        """Every line as an event (tests, and a file's last unfinished line)."""
        events: list[Event] = []
        start = 0
        for index, line in enumerate(self.text.split("\n") if self.count else ()):
            events.append(self.event(index, start, line))
            start += len(line) + 1
        return events


@dataclass(frozen=True, slots=True)
class Batch:
    """Events read together, the position that covers them, and what to do once durable.

    ``lines``, when set, are log lines in bulk: they come before ``events`` in the file.

    ``on_committed(matched)`` runs after the outbox commit (e.g. archiving a marker file) and
    is told whether any rule produced a notification; it must be safe to skip, because a crash
    may happen just before it.
    """

    events: tuple[Event, ...]
    positions: tuple[Position, ...] = ()
    on_committed: Callable[[bool], None] | None = None
    lines: Lines | None = None

    def every_event(self) -> list[Event]:
        """Every line and event as an ``Event`` (for tests and tools; the engine avoids it)."""
        return [*(self.lines.events() if self.lines is not None else ()), *self.events]

    @property
    def size(self) -> int:
        """Lines and events in the batch."""
        return len(self.events) + (len(self.lines) if self.lines is not None else 0)


@dataclass(frozen=True, slots=True)
class Notification:
    """A rendered message for one destination; ``id`` is the outbox row's stable id."""

    id: str
    destination: str
    rule: str
    source: str
    text: str
    title: str | None = None
    color: str = "gray"
    notify: bool = False
    format: str = "text"  # "text" | "markdown": how senders treat the text
    created: float = 0.0
    fields: Mapping[str, Any] = field(default_factory=dict)
    #: An alert a ``resolves`` rule may close: its worker keeps the service's id for it.
    resolvable: bool = False
    #: A resolved notice: the ids of the alert notifications (to this destination) it closes,
    #: whose messages the services that can edit or thread are asked to update.
    resolves: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """Plain JSON-able form: ``stored`` with the id and the destination (fields copied)."""
        record = {"id": self.id, "destination": self.destination, **self.stored()}
        record["fields"] = dict(self.fields)
        return record

    def stored(self) -> dict[str, Any]:
        """As kept in an outbox row, whose id and destination are columns of their own; for
        encoding at once (``fields`` is not copied)."""
        record: dict[str, Any] = {
            "rule": self.rule,
            "source": self.source,
            "text": self.text,
            "title": self.title,
            "color": self.color,
            "notify": self.notify,
            "format": self.format,
            "created": self.created,
            "fields": self.fields if type(self.fields) is dict else dict(self.fields),
        }
        if self.resolvable:  # only when set: most notifications are neither
            record["resolvable"] = True
        if self.resolves:
            record["resolves"] = list(self.resolves)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Notification:
        return cls(
            id=str(record["id"]),
            destination=str(record["destination"]),
            rule=str(record["rule"]),
            source=str(record["source"]),
            text=str(record["text"]),
            title=record.get("title"),
            color=str(record.get("color", "gray")),
            notify=bool(record.get("notify", False)),
            format=str(record.get("format", "text")),
            created=float(record.get("created", 0.0)),
            fields=dict(record.get("fields") or {}),
            resolvable=bool(record.get("resolvable", False)),
            resolves=tuple(str(i) for i in record.get("resolves") or ()),
        )


@dataclass(frozen=True, slots=True)
class Original:
    """An alert delivered earlier that a resolved notice refers to: the service's id for its
    message (Discord message id, Matrix event id) and the notification as it was sent."""

    ref: str
    notification: Notification


@dataclass(frozen=True, slots=True)
class Delivered:
    """The service accepted the notification; ``warning`` says what went only partly right
    (some mail recipients refused), for the log and ``status``; ``ref`` is the id the service
    gave the message (kept for alerts a resolved notice may edit or reply to)."""

    detail: str = ""
    warning: str | None = None
    ref: str | None = None  # the service's id for the message, when it returns one


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure; ``after`` is the service's requested wait in seconds, if it gave one."""

    reason: str
    after: float | None = None


@dataclass(frozen=True, slots=True)
class Permanent:
    """The service refused the notification for good; retrying would not help."""

    reason: str


Outcome = Delivered | Retry | Permanent


def stable_id(*parts: object) -> str:
    """A short, deterministic id from the given parts (used for events and outbox rows)."""
    # Each part followed by a unit separator, hashed in one call (the bytes are those of a
    # part-by-part update: ids stay the same across versions, which keeps deduplication).
    text = "\x1f".join(map(str, parts)) + "\x1f" if parts else ""
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()
