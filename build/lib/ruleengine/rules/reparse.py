"""Python's private regex parser, imported in one place and failing safe.

The prefilters (``prefilter.py``: literals a match must contain; ``hsregex.py``: a Hyperscan
superset) read a rule's parse tree from ``re._parser``, which is not a public API and may change
with any Python release. If it is missing or fails on a pattern, that rule simply gets no
prefilter: every line goes to its regex, which is always correct, and a debug line says so.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)
__all__ = ["parse", "sre", "sre_compile", "sre_parse"]


class _Missing:
    """Stands for a private module this Python lacks: every constant is a fresh object that
    no parse tree holds (and nothing is parsed, see ``parse``)."""

    def __getattr__(self, name: str) -> Any:
        return object()


sre_compile: Any
sre: Any
sre_parse: Any
try:
    from re import _compiler as sre_compile  # type: ignore[attr-defined,no-redef]
    from re import _constants as sre  # type: ignore[attr-defined,no-redef]
    from re import _parser as sre_parse  # type: ignore[attr-defined,no-redef]
except ImportError:  # pragma: no cover - depends on the Python version
    sre_compile = sre = sre_parse = _Missing()


def parse(pattern: re.Pattern[str]) -> Any | None:
    """The parse tree of ``pattern``, or None (with a debug line) when it cannot be had."""
    if isinstance(sre_parse, _Missing):
        log.debug("re._parser is not available: rule regexes are not prefiltered")
        return None
    try:
        return sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception as exc:  # a private parser may change; no prefilter is always safe
        log.debug(
            "cannot read the regex %r with re._parser (%s: %s); the rule is tried on every line",
            pattern.pattern[:80],
            type(exc).__name__,
            exc,
        )
        return None
