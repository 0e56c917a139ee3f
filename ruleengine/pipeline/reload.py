"""The reload planner: what a new rules file adds, replaces and removes (pure, no side effects).

The supervisor builds what the plan names before it touches anything running, so a file that
fails anywhere leaves the running daemon as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruleengine.config import Config
from ruleengine.errors import ConfigError
from ruleengine.rules.compiler import compile_model
from ruleengine.rules.engine import RuleSet


@dataclass(frozen=True)
class Diff:
    """Names added, removed and changed between two mappings of settings, in file order."""

    added: list[str]
    removed: list[str]
    changed: list[str]

    @classmethod
    def of(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
        return cls(
            added=[n for n in new if n not in old],
            removed=[n for n in old if n not in new],
            changed=[n for n in new if n in old and new[n] != old[n]],
        )

    @property
    def start(self) -> list[str]:
        """Names to (re)build from the new file."""
        return [*self.added, *self.changed]

    @property
    def stop(self) -> list[str]:
        """Names whose running part goes away (removed, or replaced by a new one)."""
        return [*self.removed, *self.changed]

    def describe(self, what: str) -> str | None:
        parts = [f"+{n}" for n in self.added] + [f"-{n}" for n in self.removed]
        parts += [f"~{n}" for n in self.changed]
        return f"{what} {' '.join(parts)}" if parts else None


@dataclass(frozen=True)
class ReloadPlan:
    config: Config
    rules: RuleSet
    sources: Diff
    destinations: Diff

    @property
    def summary(self) -> list[str]:
        found = [self.sources.describe("sources"), self.destinations.describe("destinations")]
        return [line for line in found if line is not None]


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    """Compile the new rules and diff sources and destinations; ConfigError if not adoptable."""
    if new.state_dir != old.state_dir:
        raise ConfigError([f"{new.path}: state_dir changed to {new.state_dir}: restart to use it"])
    model = new.model
    return ReloadPlan(
        config=new,
        rules=compile_model(model),
        sources=Diff.of(old.model.sources, model.sources),
        destinations=Diff.of(old.model.destinations, model.destinations),
    )
