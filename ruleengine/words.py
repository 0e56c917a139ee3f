"""Counts as a user reads them."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 rule``, ``2 rules``: every count a user reads."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
