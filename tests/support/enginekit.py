"""An Engine on a real Store in tmp_path, with a clock the test moves by hand."""

from __future__ import annotations

from pathlib import Path

from ruleengine.clock import ManualClock
from ruleengine.engine import Engine
from ruleengine.model import Batch, Event
from ruleengine.rules.engine import RuleSet
from ruleengine.state import Store
from tests.support.outbox import outbox_texts

Clock = ManualClock  # the package's fake clock, under the name the tests know


def make_engine(rules: RuleSet, state: Path, clock: Clock) -> tuple[Engine, Store, list[str]]:
    woken: list[str] = []
    store = Store(state)
    return Engine(rules, store, woken.append, clock=clock), store, woken


def texts(store: Store) -> list[str]:
    """Every queued notification's text, in outbox order."""
    return outbox_texts(store.path)


def feed(engine: Engine, *events: Event) -> None:
    engine.process(Batch(tuple(events)))
