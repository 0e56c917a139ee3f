"""Named time windows (weekdays, hours, an IANA time zone): is a moment inside, and when does
that next change. Pure; correct across DST changes because every boundary is a local wall-clock
time converted to UTC for its own date by ``zoneinfo``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 9  # every window with at least one day repeats within a week


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    hours: tuple[tuple[int, int], ...]  # (start, end) minutes after midnight; end may be ≤ start
    tz: ZoneInfo

    def contains(self, epoch: float) -> bool:
        local = dt.datetime.fromtimestamp(epoch, self.tz)
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        for start, end in self.hours:
            if start < end:
                if day in self.days and start <= minute < end:
                    return True
            elif (day in self.days and minute >= start) or (
                (day - 1) % 7 in self.days and minute < end
            ):
                return True  # a range past midnight belongs to the day it starts on
        return False

    def next_change(self, epoch: float) -> float | None:
        """The first moment after ``epoch`` at which ``contains`` flips; None if it never does."""
        inside = self.contains(epoch)
        today = dt.datetime.fromtimestamp(epoch, self.tz).date()
        candidates: list[float] = []
        for offset in range(-1, LOOKAHEAD_DAYS):
            date = today + dt.timedelta(days=offset)
            for start, end in self.hours:
                for minute in (start, end):
                    when = _local(date, minute, self.tz)
                    if when > epoch:
                        candidates.append(when)
        for when in sorted(set(candidates)):
            if self.contains(when) != inside:
                return when
        return None

    def next_open(self, epoch: float) -> float | None:
        """When the window next opens (``epoch`` itself when open now)."""
        return epoch if self.contains(epoch) else self.next_change(epoch)


def _local(date: dt.date, minute: int, tz: ZoneInfo) -> float:
    """Epoch of a local wall-clock time; a time skipped by DST means the moment after the gap."""
    day = dt.datetime.combine(date, dt.time(), tz) + dt.timedelta(days=minute // 1440)
    naive = dt.datetime.combine(day.date(), dt.time(minute % 1440 // 60, minute % 60))
    aware = naive.replace(tzinfo=tz)
    back = dt.datetime.fromtimestamp(aware.timestamp(), tz).replace(tzinfo=None)
    if back != naive:  # in a spring-forward gap: fold=0 lands before it, take its end instead
        return aware.replace(fold=1).timestamp()
    return aware.timestamp()


def parse_days(text: str | list[str]) -> frozenset[int]:
    """``mon-fri``, ``sat,sun``, ``[mon, wed]``, ``daily``; ValueError otherwise."""
    items = text if isinstance(text, list) else text.replace(" ", "").split(",")
    days: set[int] = set()
    for given in items:
        item = given.strip().lower()
        if item in ("daily", "all", "*"):
            return frozenset(range(7))
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day {item!r}: use mon…sun, ranges (mon-fri) or daily")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def parse_hours(text: str | list[str]) -> tuple[tuple[int, int], ...]:
    """``08:00-18:00``, ``22:00-02:00`` (past midnight), or a list; ValueError otherwise."""
    out: list[tuple[int, int]] = []
    for item in text if isinstance(text, list) else [text]:
        start, sep, end = item.replace(" ", "").partition("-")
        if not sep:
            raise ValueError(f"hours {item!r}: expected HH:MM-HH:MM")
        first, last = _minute(start), _minute(end)
        if first == last:
            raise ValueError(f"hours {item!r}: the range is empty")
        out.append((first, last))
    return tuple(out)


def _minute(text: str) -> int:
    hour, sep, minute = text.partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise ValueError(f"time {text!r}: expected HH:MM")
    value = int(hour) * 60 + int(minute)
    if int(minute) > 59 or value > 24 * 60:
        raise ValueError(f"time {text!r}: out of range")
    return value
