"""A markers source never writes the state database itself: its ledger rows (consumed or left
unmatched) travel in its batches and are committed by the engine with their notifications."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ruleengine.config import load_config_text
from ruleengine.engine import Engine
from ruleengine.model import Batch
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.base import SourceContext
from ruleengine.sources.markers.ledger import Ledger
from ruleengine.sources.registry import make_source
from ruleengine.state import Store
from tests.support.markerkit import rules_text
from tests.support.poll import eventually


class CountingStore(Store):
    """A real store that counts the write transactions opened on it, by thread name."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.writers: list[str] = []
        real = self.db.transaction

        @contextmanager
        def counted(durable: bool = True) -> Iterator[object]:
            self.writers.append(threading.current_thread().name)
            with real(durable) as conn:
                yield conn

        self.db.transaction = counted  # type: ignore[method-assign,assignment]


def test_an_unmatched_kept_marker_is_recorded_by_the_engine_not_the_source(
    tmp_path: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "stray.json").write_text("{}")
    rule = {"name": "only-x", "file": "x.json", "message": "x"}
    config = load_config_text(
        rules_text(tmp_path / "state", {"directory": str(drop)}, [rule]), tmp_path / "r.yaml"
    )
    store = CountingStore(config.state_dir)
    batches: list[Batch] = []
    source = make_source(
        config.model.sources["drop"],
        SourceContext("drop", store.positions_of("drop"), config.resolve),
    )

    def emit(batch: Batch) -> None:  # an engine that has not committed yet
        batches.append(batch)
        assert batch.on_committed is not None
        batch.on_committed(False)

    source.start(emit)
    try:
        eventually(lambda: batches, what="the stray marker's batch")
    finally:
        source.stop()
    assert store.writers == []  # read, handed over, left in place: no write of its own
    assert store.positions("drop") == {}
    (position,) = batches[0].positions
    engine = Engine(
        compile_rules(config.model.rules, config.model.defaults), store, lambda _destination: None
    )
    assert engine.process(batches[0]) == []  # no rule fired: nothing to send
    ledger = Ledger.decode(store.position("drop", "stray.json"))
    assert ledger is not None
    assert ledger.state == "unmatched"
    assert Ledger.decode(position.value) == Ledger("consumed", ledger.digest, ledger.mtime_ns)
    assert store.writers[-1] == threading.current_thread().name  # the engine's commit
    store.close()
