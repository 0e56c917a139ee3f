"""``ruleengine test --file``: replay a log through the daemon's own reading and matching code
(the logfile tail, ``RuleSet.select_lines``), a chunk at a time in bounded memory, with throttle,
digest and (``--simulate``) the time-aware rules simulated; counts per rule and lines/s."""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import functools
import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruleengine.commands.replays import SHOW, print_summary
from ruleengine.commands.simulate import Timeline, simulation_for
from ruleengine.config.loader import Config
from ruleengine.model import Event, Lines
from ruleengine.render import check_fired, render
from ruleengine.rules.actions import Decision, Send
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.simulate import Simulation
from ruleengine.senders import Sender
from ruleengine.sources.logfile.tailer import Chunk, TailOptions, open_tail
from ruleengine.sources.logfile.timestamp import line_clock


def replay_file(
    args: argparse.Namespace,
    config: Config,
    rules: RuleSet,
    sources: list[str],
    senders: dict[str, Sender],
) -> int:
    summary: dict[str, Any] = {"file": str(args.file), "sources": {}}
    for source in sources:
        group = rules.by_source.get(source)
        if group is None:
            continue
        settings: Any = config.model.sources[source]
        sim = Simulation(rules)
        timeline = simulation_for(config, rules) if args.simulate else None
        started = time.perf_counter()
        try:
            lines, notifications = _replay_source(args, source, settings, sim, timeline)
        except OSError as exc:
            print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
        elapsed = max(time.perf_counter() - started, 1e-9)
        summary["sources"][source] = {
            "lines": lines,
            "seconds": round(elapsed, 4),
            "lines_per_second": round(lines / elapsed),
            "rules": {r.name: sim.matched[r.name] for r in group.rules},
            "would_send": {r.name: sim.would_send[r.name] for r in group.rules},
            "suppressed": {r.name: sim.suppressed[r.name] for r in group.rules},
            "digested": {r.name: sim.digested[r.name] for r in group.rules},
            "notifications": notifications,
        }
        if timeline is not None:
            timeline.finish()
            summary["sources"][source]["simulated"] = timeline.as_json()
            if not args.json:
                print("\n".join(timeline.report()) or f"source {source}: nothing would be sent")
    print_summary(summary, "lines", args.json)
    return 0


@dataclass
class _Replay:
    """One source's replay of a file: throttle and digest simulated as the daemon applies them
    (by each line's ``timestamp:`` when the source has one, else as arriving now), counts per
    rule and a few rendered examples."""

    args: argparse.Namespace
    source: str
    rules: RuleSet
    sim: Simulation
    clock: Callable[[str], float | None] | None = None
    shown: Counter[str] = field(default_factory=Counter)
    timeline: Timeline | None = None  # --simulate

    def chunk(self, chunk: Chunk, first_line: int) -> int:
        """Fire the rules on a chunk as the daemon does (the same ``fire_lines`` / ``fire``,
        so the same events and fields), then simulate and count; returns the notifications."""
        fired = (
            self.rules.fire_lines(chunk)
            if isinstance(chunk, Lines)
            else self.rules.fire(chunk)  # events made one by one (multi-line groups, UTF-16)
        )
        line_of = _LineNumbers(chunk, first_line)
        produced = 0
        for _key, group in itertools.groupby(fired, key=lambda f: id(f.event)):
            of_event = list(group)
            event = of_event[0].event
            stamped = self.clock(event.text) if self.clock is not None else None
            when = stamped if stamped is not None else time.time()
            if self.timeline is not None:  # --simulate: also the line's own ISO/syslog time
                when = self.timeline.stamp(event.text, stamped)
                self.timeline.fire(of_event)
            for decision in self.sim.feed(of_event, when):
                produced += self.emit(decision, functools.partial(line_of, event))
        return produced

    def emit(self, decision: Decision, line_no: Callable[[], int]) -> int:
        """Count (and for the first few per rule, print) one decision's notifications; the
        line number is worked out only for a printed one."""
        rule = decision.fired.rule if isinstance(decision, Send) else decision.rule
        if self.args.no_render:  # matching alone: no template is rendered, nothing printed
            return len(rule.output.to)
        if self.args.json or self.shown[rule.name] >= SHOW:  # nothing more to print
            if isinstance(decision, Send):
                return check_fired(decision.fired)  # still rendered: errors are reported
            return len(render([decision]))
        notes = render([decision])
        self.shown[rule.name] += 1
        number = line_no() + 1
        for note in notes:
            print(f"line {number}: {rule.name}: {note.text}")
        return len(notes)


def _replay_source(
    args: argparse.Namespace,
    source: str,
    settings: Any,
    sim: Simulation,
    timeline: Timeline | None = None,
) -> tuple[int, int]:
    """Replay the file through one source's rules; returns (lines read, notifications).

    The file is read by the daemon's own tail (framing, decoding, CRLF, NULs, the line cap),
    a chunk at a time, so the replay sees exactly the lines the daemon would.
    """
    clock = line_clock(settings.timestamp) if settings.timestamp is not None else None
    replay = _Replay(args, source, sim.rules, sim, clock, timeline=timeline)
    options = TailOptions(source, encoding=settings.encoding, max_line=settings.max_line)
    tail = open_tail(str(args.file), options)
    remaining = args.limit if args.limit is not None else -1
    lines = notifications = 0
    try:
        finished = False
        while remaining != 0 and not finished:
            chunk = tail.read_chunk()
            if chunk is None:
                chunk, finished = tail.finish(), True
            count = len(chunk)
            if not count:
                continue
            if 0 < remaining < count:
                chunk = _first(chunk, remaining)
                count = remaining
            notifications += replay.chunk(chunk, lines)
            lines += count
            remaining = max(remaining - count, 0) if remaining > 0 else remaining
    finally:
        tail.close()
    last = lines - 1
    notifications += sum(replay.emit(d, lambda: last) for d in replay.sim.finish())
    return lines, notifications


def _first(chunk: Chunk, count: int) -> Chunk:
    """The first ``count`` lines (or events) of a chunk (``--limit``)."""
    if isinstance(chunk, Lines):
        text = "\n".join(chunk.text.split("\n", count)[:count])
        return dataclasses.replace(chunk, text=text, count=count)
    return chunk[:count]


class _LineNumbers:
    """The line number of an event of a chunk, worked out when asked (for the few examples
    printed). Events made one by one are numbered in order (a multi-line group counts as
    one); for lines in bulk, by the event's offset among the lines' offsets, or by counting
    newlines up to it from the last line asked for (events are asked for in order)."""

    def __init__(self, chunk: Chunk, first_line: int) -> None:
        self.chunk = chunk
        self.first_line = first_line
        self._at = (0, first_line)  # a character position and the line number there

    def __call__(self, event: Event) -> int:
        if not isinstance(self.chunk, Lines):
            return self.first_line + next(i for i, e in enumerate(self.chunk) if e is event)
        lines = self.chunk
        offset = int(event.fields["offset"])
        offsets = lines.offsets
        if offsets is not None:
            return self.first_line + bisect.bisect_right(offsets, offset) - 1
        start = offset - lines.base  # one byte per character
        at, number = self._at
        if start < at:
            at, number = 0, self.first_line
        number += lines.text.count("\n", at, start)
        self._at = (start, number)
        return number
