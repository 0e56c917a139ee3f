"""Marker name patterns: globs for the common case, regexes when named groups are wanted."""

from __future__ import annotations

import fnmatch
import re


def is_regex(pattern: str) -> bool:
    """A pattern is a regex when it is anchored with ``^`` or captures a named group."""
    return pattern.startswith("^") or "(?P<" in pattern


def name_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a marker name pattern; a regex must match the whole name, as a glob does."""
    if is_regex(pattern):
        return re.compile(pattern)
    return re.compile(fnmatch.translate(pattern))


def match_name(compiled: re.Pattern[str], name: str) -> dict[str, str] | None:
    """Named groups of a full match of ``name``, or None when it does not match."""
    found = compiled.fullmatch(name)
    if found is None:
        return None
    return {key: value for key, value in found.groupdict().items() if value is not None}
