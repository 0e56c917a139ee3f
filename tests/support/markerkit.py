"""A real markers pipeline for tests: rules file → source thread → engine thread → SQLite outbox.

No dispatcher: tests read the outbox rows the engine committed, which is exactly the
"durably enqueued" point the marker guarantees are about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ruleengine.config import load_config_text
from ruleengine.engine import Engine
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.base import Source, SourceContext
from ruleengine.sources.registry import make_source
from ruleengine.state import Store


def rules_text(state: Path, source: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    """A rules file with one markers source ``drop`` and a console destination."""
    document = {
        "state_dir": str(state),
        "defaults": {"to": ["terminal"]},
        "destinations": {"terminal": {"type": "console"}},
        "sources": {"drop": {"type": "markers", "settle": "100ms", **source}},
        "rules": [{"source": "drop", **rule} for rule in rules],
    }
    return yaml.safe_dump(document, sort_keys=False)


class Pipeline:
    def __init__(self, root: Path, source: dict[str, Any], rules: list[dict[str, Any]]) -> None:
        self.root = root
        text = rules_text(root / "state", {"directory": str(root / "drop"), **source}, rules)
        config = load_config_text(text, root / "rules.yaml")
        model = config.model
        self.store = Store(config.state_dir)
        self.engine = Engine(compile_rules(model.rules, model.defaults), self.store, lambda _: None)
        self.source: Source = make_source(
            model.sources["drop"],
            SourceContext("drop", self.store.positions_of("drop"), config.resolve),
        )

    def __enter__(self) -> Pipeline:
        self.engine.start()
        self.source.start(self.engine.emit)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.source.stop()
        self.engine.stop()
        self.engine.join(10.0)
        self.store.close()


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
