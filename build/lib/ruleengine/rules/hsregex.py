"""Translate a Python regex into a Hyperscan expression matching a superset of it on ASCII text.

With Hyperscan the scanner can prefilter on a rule's whole regex instead of one of its literals:
a noise line holding the literal (``exitCode=0`` for a rule wanting ``exitCode=[1-9]``) then
costs nothing in Python. The translation is conservative by construction, so it can only add
candidate lines, never hide a match; the caller still runs the real regex on every candidate:

- each one-character element (literal, class, ``.``, ``\\d``…) becomes the exact set of ASCII
  bytes Python's ``re`` accepts for it under the flags in force, found by asking ``re`` itself
  for each of the 128 characters;
- anchors, word boundaries and look-arounds become nothing (a zero-width test only removes
  matches); atomic groups and lazy or possessive repeats become plain groups and repeats;
- the expression starts at the pattern's longest literal run, dropping what comes before it (a
  suffix of a match ends where the match ends): Hyperscan then anchors on a selective literal
  instead of verifying after every ``sshd[`` of the log (three times faster on the bench);
- a trailing part the match need not include is cut (a prefix of a match ends on the same line),
  so ``.*ERROR (?P<m>.+)`` reports once per line, not once per character.

Anything else (back-references, conditionals, patterns that can match the empty string) is not
translated: the rule keeps its literal prefilter.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ruleengine.rules.reparse import parse, sre, sre_compile, sre_parse

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_CHARS = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
#: Larger repeat counts are widened to "at least this many" (Hyperscan rejects huge bounds).
MAX_BOUND = 100
#: A byte never present in ASCII text: stands for a one-character element no ASCII matches.
_NEVER = b"\\xff"


class Untranslatable(Exception):
    """The pattern uses something without a safe over-approximation."""


def translate(pattern: re.Pattern[str]) -> bytes | None:
    """A Hyperscan expression whose matches on ASCII text cover every ``pattern.search`` match.

    Every line (of ASCII text) on which ``pattern`` matches also contains a match of the
    expression ending on that line; None when no such expression can be derived.
    """
    parsed = parse(pattern)
    if parsed is None:
        return None
    try:
        if parsed.getwidth()[0] == 0:
            return None  # it can match empty: every line is a candidate, nothing to prefilter
        items = _trim(_from_longest_literal(list(parsed)))
        if _min_width(items) == 0:
            return None
        return b"".join(_sequence(items, parsed.state.flags))
    except (Untranslatable, RecursionError):
        return None
    except Exception:  # a private parser may change; the literal prefilter is always safe
        return None


def _from_longest_literal(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The top-level sequence from its longest run of literal characters on (whole if none)."""
    best_start, best_length, index = 0, 0, 0
    while index < len(items):
        if items[index][0] is not sre.LITERAL:
            index += 1
            continue
        start = index
        while index < len(items) and items[index][0] is sre.LITERAL:
            index += 1
        if index - start > best_length:
            best_start, best_length = start, index - start
    return items[best_start:]


def _trim(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Drop what a match may end with beyond its required prefix (fewer, earlier reports)."""
    items = list(items)
    while items:
        op, av = items[-1]
        if op in _ZERO_WIDTH:
            items.pop()
        elif op in _REPEATS:
            low, _high, sub = av
            if low == 0:
                items.pop()
                continue
            items[-1] = (sre.MAX_REPEAT, (low, low, sub))
            break
        elif op is sre.SUBPATTERN or op is sre.ATOMIC_GROUP:
            sub = _trim(list(av[3] if op is sre.SUBPATTERN else av))
            if not sub:
                items.pop()
                continue
            flags = (av[1], av[2]) if op is sre.SUBPATTERN else (0, 0)
            items[-1] = (sre.SUBPATTERN, (None, *flags, sub))
            break
        else:
            break
    return items  # the minimum width is unchanged: only zero-width or optional tails go


def _min_width(items: list[tuple[Any, Any]]) -> int:
    width = 0
    for op, av in items:
        if op in _CHARS:
            width += 1
        elif op in _REPEATS:
            width += av[0] * _min_width(list(av[2]))
        elif op is sre.SUBPATTERN:
            width += _min_width(list(av[3]))
        elif op is sre.ATOMIC_GROUP:
            width += _min_width(list(av))
        elif op is sre.BRANCH:
            width += min(_min_width(list(alt)) for alt in av[1])
    return width


def _sequence(items: list[tuple[Any, Any]], flags: int) -> list[bytes]:
    return [_element(op, av, flags) for op, av in items]


def _element(op: Any, av: Any, flags: int) -> bytes:  # noqa: PLR0911
    if op in _CHARS:
        return _char_class(op, _freeze(av), flags)
    if op in _ZERO_WIDTH:
        return b""
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        local = (flags | add_flags) & ~del_flags
        return b"(?:" + b"".join(_sequence(list(sub), local)) + b")"
    if op is sre.ATOMIC_GROUP:
        return b"(?:" + b"".join(_sequence(list(av), flags)) + b")"
    if op is sre.BRANCH:
        alternatives = [b"".join(_sequence(list(alt), flags)) for alt in av[1]]
        return b"(?:" + b"|".join(alternatives) + b")"
    if op in _REPEATS:
        low, high, sub = av
        if high == 0:
            return b""  # x{0} matches the empty string only
        body = b"(?:" + b"".join(_sequence(list(sub), flags)) + b")"
        if high == sre.MAXREPEAT or high > MAX_BOUND:
            # Beyond Hyperscan's size limits; "at least min(low, bound)" still covers it.
            return body + b"{%d,}" % min(low, MAX_BOUND)
        return body + b"{%d,%d}" % (low, high)
    raise Untranslatable(str(op))


def _freeze(value: Any) -> Any:
    """A hashable copy of a parse-tree argument (lists become tuples), for the cache."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@lru_cache(maxsize=4096)
def _char_class(op: Any, av: Any, flags: int) -> bytes:
    """The ASCII bytes a one-character element accepts, asked of ``re`` itself, as a class."""
    if op is sre.LITERAL and not flags & re.IGNORECASE:
        accepted = [av] if av < 128 else []
    else:
        state = sre_parse.State()
        state.flags = flags
        node = (op, [_thaw(i) for i in av] if op is sre.IN else av)
        matcher = sre_compile.compile(sre_parse.SubPattern(state, [node]), 0)
        accepted = [c for c in range(128) if matcher.fullmatch(chr(c))]
    if not accepted:
        return _NEVER
    if len(accepted) == 1:
        return b"\\x%02x" % accepted[0]
    parts = []
    start = previous = accepted[0]
    for code in [*accepted[1:], -1]:
        if code == previous + 1:
            previous = code
            continue
        single = start == previous
        parts.append(b"\\x%02x" % start if single else b"\\x%02x-\\x%02x" % (start, previous))
        start = previous = code
    return b"[" + b"".join(parts) + b"]"


def _thaw(item: Any) -> Any:
    """A class item back in the parser's shape: (op, argument) with list arguments."""
    op, arg = item
    return (op, list(arg) if isinstance(arg, tuple) and op is not sre.RANGE else arg)
