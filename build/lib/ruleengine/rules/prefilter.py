"""Literal prefilter: substrings that must appear in any line a regex can match.

``required_literals`` reads a compiled pattern's parse tree and returns alternatives
``((literal, ignorecase), …)`` such that every match contains at least one of them, or None when
no such guarantee can be derived. It is conservative by construction: anything it does not
understand (classes, look-arounds, back-references, optional parts) yields no requirement, so the
prefilter may let through lines that the regex then rejects, but never hides a match.
"""

from __future__ import annotations

import re
from typing import Any

from ruleengine.rules.reparse import parse, sre

MAX_ALTERNATIVES = 32  # beyond this a branch's literals are not worth scanning for

#: One requirement: the line must contain one of these (literal, ignorecase) alternatives.
Requirement = tuple[tuple[str, bool], ...]

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def required_literals(pattern: re.Pattern[str]) -> Requirement | None:
    """Alternatives of which every match of ``pattern`` contains one, or None if unknown."""
    return max(candidate_requirements(pattern), key=_score, default=None)


def candidate_requirements(pattern: re.Pattern[str]) -> list[Requirement]:
    """Requirements that each hold on their own for every match (the scanner picks one)."""
    parsed = parse(pattern)
    if parsed is None:
        return []  # no requirement is always safe
    flags = parsed.state.flags
    if flags & re.LOCALE:
        return []
    return _candidates(list(parsed), bool(flags & re.IGNORECASE))


def _sequence(items: list[tuple[Any, Any]], ignorecase: bool) -> Requirement | None:
    """Best requirement of a sequence: each element's requirement holds, pick the most selective."""
    return max(_candidates(items, ignorecase), key=_score, default=None)


def _candidates(items: list[tuple[Any, Any]], ignorecase: bool) -> list[Requirement]:
    """Every element of a sequence must match, so each element's requirement is one candidate."""
    candidates: list[Requirement] = []
    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append((("".join(run), ignorecase),))
            run = []
        found = _element(op, av, ignorecase)
        if found:
            candidates.append(found)
    if run:
        candidates.append((("".join(run), ignorecase),))
    return candidates


def _element(op: Any, av: Any, ignorecase: bool) -> Requirement | None:  # noqa: PLR0911
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if (add_flags | del_flags) & re.LOCALE:
            return None
        local = (ignorecase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        return _sequence(list(sub), local)
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av), ignorecase)
    if op is sre.BRANCH:
        union: dict[tuple[str, bool], None] = {}
        for alternative in av[1]:
            found = _sequence(list(alternative), ignorecase)
            if not found:
                return None  # one branch without a requirement frees the whole branch
            union.update(dict.fromkeys(found))
        return tuple(union) if len(union) <= MAX_ALTERNATIVES else None
    if op in _REPEATS:
        low, _high, sub = av
        return _sequence(list(sub), ignorecase) if low >= 1 else None
    return None  # classes, anchors, look-arounds, back-references: no literal guaranteed


def _score(requirement: Requirement) -> tuple[int, int]:
    """Longer shortest literal first (more selective), then fewer alternatives."""
    return min(len(literal) for literal, _ in requirement), -len(requirement)
