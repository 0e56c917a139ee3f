"""The literal side of the line scan: which literal a rule is found by, and the tests and
trie-shaped alternation built from the chosen literals (``scan.LiteralScanner`` uses them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from ruleengine.rules.prefilter import Requirement

# Characters that ``re`` matches to an ASCII letter under IGNORECASE besides its two cases
# (tests/test_rules_prefilter.py checks this against every code point).
_CASE_EXTRAS = "\u0130\u0131\u017f\u212a"


def case_variants(char: str) -> str:
    """Every character ``re`` treats as equal to ``char`` under IGNORECASE (ASCII ``char``)."""
    pattern = re.compile(re.escape(char), re.IGNORECASE)
    pool = dict.fromkeys(char + char.lower() + char.upper() + _CASE_EXTRAS)
    return "".join(c for c in pool if pattern.fullmatch(c))


def is_uncased(char: str) -> bool:
    return char.isascii() and not char.isalpha()


def scannable(requirement: Requirement) -> bool:
    """Whether every literal has a character the scanner can start a key with."""
    return all(_usable(literal, ic) for literal, ic in requirement)


def _usable(literal: str, ignorecase: bool) -> bool:
    # Non-ASCII case folding is too wide to enumerate as heads of an alternation.
    return bool(literal) and (not ignorecase or any(c.isascii() for c in literal))


class Cost:
    """Estimated work of a requirement on text like the sample, to choose among candidates.

    A line holding a literal costs a full regex search for every rule that chose it, so a
    literal is dear when frequent in the sample or shared by many rules. On the ``re`` path,
    every occurrence of a key's first character also stops the scan briefly.
    """

    HIT = 20  # a candidate line costs about this many scan stops

    def __init__(
        self,
        sample: str,
        freq: Counter[str],
        candidates: Sequence[Sequence[Requirement]],
        stops: bool,
    ) -> None:
        self.sample, self.lowered, self.freq, self.stops = sample, sample.lower(), freq, stops
        self.sharing: Counter[tuple[str, bool]] = Counter(
            lit for options in candidates for req in options for lit in set(req)
        )

    def __call__(self, requirement: Requirement) -> tuple[int, int]:
        work = 0
        for literal, ignorecase in requirement:
            # Case-insensitive counts use str.lower: an estimate only, never a correctness matter.
            found = (
                self.lowered.count(literal.lower()) if ignorecase else self.sample.count(literal)
            )
            work += self.HIT * (found + 1) * self.sharing[(literal, ignorecase)]
            if self.stops:
                work += key_start(literal, ignorecase, self.freq)[1]
        return work, -min(len(lit) for lit, _ in requirement)


def literal_tests(
    chosen: Sequence[Requirement],
) -> list[tuple[str | Callable[[str], object], tuple[int, ...]]]:
    """Group rules by literal so a line is tested once per distinct literal, not once per rule."""
    by_literal: dict[tuple[str, bool], list[int]] = {}
    for index, requirement in enumerate(chosen):
        for literal in requirement:
            by_literal.setdefault(literal, []).append(index)
    return [
        (literal if not ic else re.compile(re.escape(literal), re.IGNORECASE).search, tuple(rules))
        for (literal, ic), rules in by_literal.items()
    ]


def key_start(literal: str, ignorecase: bool, freq: Counter[str]) -> tuple[int, int]:
    """Index of the rarest usable first character, preferring a few characters after it."""
    keep = min(4, len(literal))
    best, best_cost = 0, None
    for index, char in enumerate(literal):
        if ignorecase and not is_uncased(char):
            if not char.isascii():
                continue
            cost = sum(freq[c] for c in case_variants(char)) + 1
        else:
            cost = freq[char] + (0 if is_uncased(char) or char.isupper() else 1)
        candidate = (len(literal) - index < keep, cost)
        if best_cost is None or candidate < best_cost:
            best, best_cost = index, candidate
    return best, best_cost[1] if best_cost is not None else len(freq)


def trie(words: list[str]) -> str:
    """A regex matching any of ``words`` (and possibly longer strings), factored by prefix."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in sorted(set(words), key=len):
        node = root
        for char in word:
            if "" in node:
                break  # a shorter word already covers this one
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}
    return _trie_node(root)


def _trie_node(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    if "" in node:
        return ""
    parts = [re.escape(char) + _trie_node(child) for char, child in sorted(node.items())]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
