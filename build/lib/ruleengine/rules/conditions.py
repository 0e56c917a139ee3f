"""Field conditions (``where:``): equality with YAML-friendly typing, lists meaning any of.

Marker files are JSON or key=value text, so the same status may arrive as ``3010`` or ``"3010"``,
``true`` or ``"true"``; a rules author should not have to care. Comparison is therefore by meaning:
numbers compare as numbers, booleans as booleans, other strings exactly (case-sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MISSING = object()

#: (field, accepted values) pairs; all must hold.
Where = tuple[tuple[str, tuple[Any, ...]], ...]


def compile_where(where: Mapping[str, Any]) -> Where:
    """Normalise ``{field: value | [values]}`` to a tuple of (field, values)."""
    return tuple(
        (name, tuple(value) if isinstance(value, list) else (value,))
        for name, value in where.items()
    )


def holds(where: Where, fields: Mapping[str, Any]) -> bool:
    """True when every condition accepts its field's value."""
    for name, accepted in where:
        actual = fields.get(name, _MISSING)
        if not any(equals(actual, expected) for expected in accepted):
            return False
    return True


def equals(actual: Any, expected: Any) -> bool:  # noqa: PLR0911 - one return per type rule
    """Does a field value satisfy one expected value? A list field holds if any item does."""
    if actual is _MISSING:
        return expected is None
    if isinstance(actual, list | tuple):
        return any(equals(item, expected) for item in actual)
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        left, right = _boolean(actual), _boolean(expected)
        return left is not None and left == right
    left_number, right_number = _number(actual), _number(expected)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    if isinstance(actual, str) and isinstance(expected, str):
        return actual == expected
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None
