"""The rules of one source, selecting lines of a chunk with one prefilter pass.

The lines are one text joined by ``\\n``; the prefilter (``scan.LiteralScanner``) finds the few
lines that can match any rule, and only those get the full regexes. Rules whose regex
guarantees no literal are tried on every line. The outcome is exactly that of ``re.search``
per line and rule, in rule order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ruleengine.rules.compiled import CompiledRule, Selection
from ruleengine.rules.scan import LiteralScanner


@dataclass(frozen=True)
class SourceRules:
    """The rules of one source, with the prefilter over those that have literals."""

    rules: tuple[CompiledRule, ...]
    filtered: tuple[CompiledRule, ...]
    unfiltered: tuple[CompiledRule, ...]
    scanner: LiteralScanner | None

    @classmethod
    def of(cls, rules: Sequence[CompiledRule]) -> SourceRules:
        filtered = tuple(r for r in rules if r.requirements)
        unfiltered = tuple(r for r in rules if not r.requirements)
        scanner = LiteralScanner(
            [r.requirements for r in filtered],
            patterns=[r.regex for r in filtered if r.regex is not None],
        )
        return cls(tuple(rules), filtered, unfiltered, scanner if filtered else None)

    def _candidates(self, line: str, known: set[int] | None) -> list[int]:
        """Indexes into ``filtered`` of the rules whose literals the line holds, in rule order."""
        assert self.scanner is not None  # noqa: S101 - only called while scanning
        if known is not None:  # the scan knows every rule the line may match
            return sorted(known)
        found: set[int] = set()
        for literal, indexes in self.scanner.plain_tests:
            if literal in line:
                found.update(indexes)
        for search, indexes in self.scanner.folded_tests:
            if search(line) is not None:
                found.update(indexes)
        return sorted(found)

    def select_text(self, text: str) -> list[tuple[int, int, Selection]]:
        """(start, end, selections) for each line of ``text`` that some rule selects.

        ``text`` holds lines separated by ``\\n``; selections are in rule order.
        """
        found: dict[int, tuple[int, Selection]] = {}
        if self.scanner is not None:
            self.scanner.prepare(text)
            for start, end, known in self.scanner.spans(text):
                line = text[start:end]
                chosen: Selection = []
                for index in self._candidates(line, known):
                    rule = self.filtered[index]
                    fields = rule.select_line(line)
                    if fields is not None:
                        chosen.append((rule, fields))
                if chosen:
                    found[start] = (end, chosen)
        if self.unfiltered:
            start = 0
            for line in text.split("\n"):
                chosen = [
                    (rule, fields)
                    for rule in self.unfiltered
                    if (fields := rule.select_line(line)) is not None
                ]
                if chosen:
                    end = start + len(line)
                    previous = found.get(start, (end, []))[1]
                    found[start] = (end, sorted([*previous, *chosen], key=lambda s: s[0].index))
                start += len(line) + 1
        return [(start, end, chosen) for start, (end, chosen) in sorted(found.items())]
