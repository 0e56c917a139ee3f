"""An Engine on a real Store in tmp_path, with a clock the test moves by hand."""

from __future__ import annotations

from pathlib import Path

from ruleengine.engine import Engine
from ruleengine.model import Batch, Event
from ruleengine.rules.engine import RuleSet
from ruleengine.state import Store


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_engine(rules: RuleSet, state: Path, clock: Clock) -> tuple[Engine, Store, list[str]]:
    woken: list[str] = []
    store = Store(state)
    return Engine(rules, store, woken.append, clock=clock), store, woken


def texts(store: Store) -> list[str]:
    """Every queued notification's text, in outbox order."""
    rows = store.db.conn().execute("SELECT record FROM outbox ORDER BY seq").fetchall()
    import json  # noqa: PLC0415

    return [json.loads(r[0])["text"] for r in rows]


def feed(engine: Engine, *events: Event) -> None:
    engine.process(Batch(tuple(events)))
