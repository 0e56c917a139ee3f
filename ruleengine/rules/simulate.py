"""Throttle and digest, simulated for a dry run (``test --file``): the daemon's own ``Outputs``
over in-memory state, driven by each line's time instead of the clock. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ruleengine.rules.actions import Decision, Outputs, Send
from ruleengine.rules.compiled import Fired
from ruleengine.rules.digest import Digests
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.throttle import Throttles


@dataclass
class Simulation:
    """Per rule: matched (fired), would send, suppressed by a throttle, collected in a digest."""

    rules: RuleSet
    outputs: Outputs = field(default_factory=lambda: Outputs(Throttles(), Digests()))
    matched: Counter[str] = field(default_factory=Counter)
    would_send: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    digested: Counter[str] = field(default_factory=Counter)
    now: float = float("-inf")

    def feed(self, fired: Sequence[Fired], when: float) -> list[Decision]:
        """The decisions the daemon would take for ``fired`` at ``when`` (digests due first).

        Time never runs backwards: a line stamped earlier than the one before it (clock
        skew, interleaved writers) counts as arriving at the same time.
        """
        self.now = max(self.now, when)
        decisions = self._count(self.outputs.due(self.rules, self.now))
        for item in fired:
            name = item.rule.name
            self.matched[name] += 1
            made = self.outputs.apply([item], self.rules, self.now)
            if item.rule.digest is not None:
                self.digested[name] += 1
            elif not made:
                self.suppressed[name] += 1
            decisions += self._count(made)
        return decisions

    def finish(self) -> list[Decision]:
        """The digests still collecting at the end: each would be sent when its wait is over."""
        pending = list(self.outputs.digests.groups.values())
        out: list[Decision] = []
        for group in pending:
            out += self.outputs.flush(group, self.rules)
        return self._count(out)

    def _count(self, decisions: list[Decision]) -> list[Decision]:
        for decision in decisions:
            rule = decision.fired.rule if isinstance(decision, Send) else decision.rule
            self.would_send[rule.name] += 1
        return decisions
