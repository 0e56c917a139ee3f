"""Hyperscan backend for the line scan: a default dependency where wheels exist.

Hyperscan finds every rule's whole regex (translated to a superset, ``hsregex.py``) or its
literals in one pass at C speed, where ``re``'s first-character skip manages a few hundred MB/s.
It is used only for ASCII text (byte offsets are then character offsets and ASCII case-folding
is exactly ``re``'s); anything else goes through the pure-``re`` scanner, which is always
correct on its own.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from ruleengine import compilecache
from ruleengine.rules import hsregex

try:
    import hyperscan as _hyperscan
except ImportError:  # no wheel for this platform, or a broken install: the re scanner works
    _hyperscan = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")

#: (expression, Hyperscan flags, id reported for its matches)
Expression = tuple[bytes, int, int]


def available() -> bool:
    return _hyperscan is not None


def _escape(data: bytes) -> bytes:
    """Every non-alphanumeric byte as ``\\xHH``: safe in Hyperscan's NUL-terminated patterns."""
    return b"".join(
        bytes([b]) if chr(b).isascii() and chr(b).isalnum() else b"\\x%02x" % b for b in data
    )


def literal(text: str, ignorecase: bool, ident: int) -> Expression:
    """An expression for a literal: on ASCII text only its longest ASCII run can match."""
    assert _hyperscan is not None  # noqa: S101 - callers check available()
    key = max(_ASCII_RUNS.findall(text), key=len, default="") if ignorecase else text
    return _escape(key.encode("utf-8")), _hyperscan.HS_FLAG_CASELESS if ignorecase else 0, ident


def prefilter(expression: bytes, ident: int) -> Expression:
    """A translated regex; prefilter mode lets Hyperscan widen what it cannot build exactly."""
    assert _hyperscan is not None  # noqa: S101 - callers check available()
    return expression, _hyperscan.HS_FLAG_PREFILTER, ident


def compiles(expression: Expression) -> bool:
    """Whether Hyperscan accepts this expression on its own (to isolate a failing rule)."""
    try:
        HyperscanScanner([expression])
    except Exception:
        return False
    return True


_PADDING = b"\n" * 64


class HyperscanScanner:
    """End offsets of every match of any of the expressions in a byte string."""

    def __init__(self, expressions: Sequence[Expression]) -> None:
        assert _hyperscan is not None  # noqa: S101 - callers check available()
        name = compilecache.key(
            "hyperscan",
            getattr(_hyperscan, "__version__", "?"),
            os.uname().machine if hasattr(os, "uname") else os.name,
            *(b"%d:%d:%s" % (i, f, e) for e, f, i in expressions),
        )
        self._db: Any = _cached(name)
        if self._db is None:
            self._db = _hyperscan.Database(mode=_hyperscan.HS_MODE_BLOCK)
            self._db.compile(
                expressions=[e for e, _f, _i in expressions],
                ids=[i for _e, _f, i in expressions],
                elements=len(expressions),
                flags=[f for _e, f, _i in expressions],
            )
            compilecache.store(name, _hyperscan.dumpb(self._db))

    def ends(self, data: bytes) -> list[tuple[int, int]]:
        """(end offset, id) of every match of every expression, by end offset.

        The data is scanned with newlines after it: Hyperscan 5.4 (the wheels' build) can miss
        a match that ends exactly at the end of a 17-34 byte block when another expression
        shares its literal (``ab`` beside ``ka[0-9]+b``, found by the property test). Matches
        never span lines, so the padding adds none of its own; any ending in it is dropped.
        """
        found: list[tuple[int, int]] = []
        append = found.append
        size = len(data)

        def on_match(ident: int, _start: int, end: int, _flags: int, _context: object) -> None:
            if end <= size:
                append((end, ident))

        self._db.scan(data + _PADDING, match_event_handler=on_match)
        found.sort()
        return found


def _cached(name: str) -> Any:
    """The database cached as ``name``, ready to scan; None: compile it."""
    assert _hyperscan is not None  # noqa: S101 - only called with Hyperscan
    blob = compilecache.load(name)
    if blob is None:
        return None
    try:
        database = _hyperscan.loadb(blob, _hyperscan.HS_MODE_BLOCK)
        database.scratch = _hyperscan.Scratch(database)
    except Exception as exc:  # another Hyperscan build or CPU: compile it here
        log.debug("cached Hyperscan database not usable (%s): compiling", exc)
        return None
    return database


class Compiling:
    """``regex_database(patterns)`` in a thread of its own, until ``result`` is asked for."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self._result: tuple[HyperscanScanner | None, frozenset[int]] = (None, frozenset())
        self._error: BaseException | None = None
        # Not a daemon thread: a command that exits before scanning waits for it (milliseconds)
        # rather than leaving Hyperscan compiling while the interpreter shuts down.
        self._thread = threading.Thread(target=self._run, args=(patterns,), name="hs-compile")
        self._thread.start()

    def _run(self, patterns: Sequence[re.Pattern[str]]) -> None:
        try:
            self._result = regex_database(patterns)
        except BaseException as exc:  # raised again where the result is taken
            self._error = exc

    def result(self) -> tuple[HyperscanScanner | None, frozenset[int]]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def regex_database(
    patterns: Sequence[re.Pattern[str]],
) -> tuple[HyperscanScanner | None, frozenset[int]]:
    """Hyperscan over every translatable regex, and which rules it covers."""
    expressions = {}
    for index, pattern in enumerate(patterns):
        translated = hsregex.translate(pattern)
        if translated is not None:
            expressions[index] = prefilter(translated, index)
    for attempt in range(2):
        if not expressions:
            break
        try:
            return HyperscanScanner(list(expressions.values())), frozenset(expressions)
        except Exception as exc:  # one expression beyond Hyperscan: keep the others
            if attempt:
                log.warning("Hyperscan regex prefilter unavailable (%s); using literals", exc)
                break
            expressions = {i: e for i, e in expressions.items() if compiles(e)}
    return None, frozenset()
