"""Counts and durations as a user reads them."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 rule``, ``2 rules``: every count a user reads."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def human_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``4d3h``: compact enough for a status line."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
