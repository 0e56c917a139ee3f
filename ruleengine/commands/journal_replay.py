"""``ruleengine test --journal``: replay a journal directory or file through each journal
source's filters and rules, as ``test --file`` does for logs; sends nothing."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ruleengine.commands.replays import SHOW, print_summary
from ruleengine.config.loader import Config
from ruleengine.model import Event
from ruleengine.render import check_fired, render_fired
from ruleengine.rules.engine import RuleSet
from ruleengine.sources.journal.entry import to_event
from ruleengine.sources.journal.reader import JournalError, dump, filter_args, location_args


def replay_journal(
    args: argparse.Namespace, config: Config, rules: RuleSet, sources: list[str]
) -> int:
    path = args.journal
    if not path.exists():
        print(f"{path}: no such journal directory or file", file=sys.stderr)
        return 2
    location = location_args(path, []) if path.is_dir() else location_args(None, [path])
    summary: dict[str, Any] = {"journal": str(path), "sources": {}}
    for source in sources:
        group = rules.by_source.get(source)
        if group is None:
            continue
        replay = _Replay(args, rules)
        started = time.perf_counter()
        settings: Any = config.model.sources[source]
        try:
            for parsed in dump(location, filter_args(settings), settings.max_line):
                left = (
                    parsed if args.limit is None else parsed[: max(args.limit - replay.entries, 0)]
                )
                replay.events([e for p in left if (e := to_event(source, *p)) is not None])
                if args.limit is not None and replay.entries >= args.limit:
                    break
        except JournalError as exc:
            print(f"cannot read {path}: {exc}", file=sys.stderr)
            return 2
        elapsed = max(time.perf_counter() - started, 1e-9)
        summary["sources"][source] = {
            "entries": replay.entries,
            "seconds": round(elapsed, 4),
            "entries_per_second": round(replay.entries / elapsed),
            "rules": {r.name: replay.counts[r.name] for r in group.rules},
            "notifications": replay.notifications,
        }
    print_summary(summary, "entries", args.json)
    return 0


@dataclass
class _Replay:
    """One source's replay: counts per rule and a few rendered examples."""

    args: argparse.Namespace
    rules: RuleSet
    entries: int = 0
    notifications: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    shown: Counter[str] = field(default_factory=Counter)

    def events(self, events: list[Event]) -> None:
        for event, chosen in zip(events, self.rules.selections(events), strict=True):
            self.entries += 1
            for fired in self.rules.apply_when(event, chosen):
                name = fired.rule.name
                self.counts[name] += 1
                if self.args.json or self.shown[name] >= SHOW:
                    no_render = self.args.no_render
                    self.notifications += (
                        len(fired.rule.output.to) if no_render else check_fired(fired)
                    )
                    continue
                self.shown[name] += 1
                for note in render_fired(fired):
                    self.notifications += 1
                    print(f"entry {self.entries}: {name}: {note.text}")
