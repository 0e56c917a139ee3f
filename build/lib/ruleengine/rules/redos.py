"""Which regexes can backtrack catastrophically: a repeated group that itself holds a repeat.

``^(a+)+$`` against a long run of ``a`` followed by a non-match tries every way of splitting the run
between the two quantifiers: exponential time. Python's ``re`` backtracks, so one such line can burn
a core for minutes. This is the classic shape (nested unbounded quantifiers); it is a heuristic that
warns, never a proof, and ``check`` reports it as a warning.

It reads patterns through ``reparse`` (Python's private parser, failing safe): a pattern it
cannot parse is simply not judged.
"""

from __future__ import annotations

import re
from typing import Any

from ruleengine.rules import reparse

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT"}  # POSSESSIVE_REPEAT never backtracks into itself
_UNBOUNDED = 1 << 16  # re reports an open upper bound as MAXREPEAT (huge); treat > this as open


def nested_quantifier(pattern: str) -> bool:
    """True when a repeated part of ``pattern`` holds another unbounded repeat."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False  # reported as invalid elsewhere
    parsed = reparse.parse(compiled)  # None, with a debug line, when the parser fails
    return parsed is not None and _find(list(parsed), inside_repeat=False)


def _find(items: list[tuple[Any, Any]], *, inside_repeat: bool) -> bool:
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _low, high, body = arg
            repeats = high > 1
            if inside_repeat and repeats and high >= _UNBOUNDED:
                return True
            if repeats and _find(list(body), inside_repeat=True):
                return True
            continue
        if any(_find(child, inside_repeat=inside_repeat) for child in _children(name, arg)):
            return True
    return False


def _children(name: str, arg: Any) -> list[list[tuple[Any, Any]]]:
    """The sub-patterns of one parsed node (groups, alternations, lookarounds, conditionals)."""
    if name == "SUBPATTERN":
        return [list(arg[-1])]
    if name == "BRANCH":
        return [list(branch) for branch in arg[1]]
    if name in {"ASSERT", "ASSERT_NOT"}:
        return [list(arg[1])]
    if name == "GROUPREF_EXISTS":
        return [list(part) for part in arg[1:] if part is not None]
    if name == "ATOMIC_GROUP":
        return []  # an atomic group never backtracks into itself
    return []
