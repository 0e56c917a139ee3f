"""Retry policy: pure functions, shared by the delivery workers and ``ruleengine send``."""

from __future__ import annotations

from collections.abc import Callable

from ruleengine.config.destinations import RetryPolicy
from ruleengine.model import Notification, Retry, stable_id

MIN_DELAY = 0.05  # full jitter may draw ~0; never spin on a failing service
MIN_RETRY_AFTER = 0.5  # a "retry after 0" (or a reset time in the past) still gets a pause


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].

    ``attempt`` counts the failures before this one (0 for the first retry); ``rng`` returns
    a float in [0, 1) and is injected so tests can pin it.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 0), 32))
    return rng() * ceiling


def next_delay(
    outcome: Retry, attempt: int, policy: RetryPolicy, rng: Callable[[], float]
) -> float:
    """Seconds until the next attempt: the service's own wait when it gave one, else backoff.

    The service's wait is honoured up to ``policy.retry_after_max``, so a bogus header
    ("retry in a year") cannot park a queue forever.
    """
    if outcome.after is not None:
        return min(max(outcome.after, MIN_RETRY_AFTER), policy.retry_after_max)
    return max(backoff_delay(attempt, policy.backoff, policy.backoff_max, rng), MIN_DELAY)


def budget_exhausted(attempts_made: int, enqueued: float, policy: RetryPolicy, now: float) -> bool:
    """True when a row that has now failed ``attempts_made`` times must not be tried again."""
    if policy.max_attempts and attempts_made >= policy.max_attempts:
        return True
    return now - enqueued >= policy.max_age


def fallback_notice(
    original: Notification, destination: str, fallback: str, reason: str
) -> Notification:
    """What the fallback destination receives when ``original`` could not go out.

    The id derives from the original's, so a crash between dead-lettering and the fallback
    send cannot produce two notices; a notice that itself fails chains to the next fallback.
    """
    return Notification(
        id=stable_id(original.id, "fallback", fallback),
        destination=fallback,
        rule=original.rule,
        source=original.source,
        title=original.title,
        text=f"Could not deliver to {destination} ({reason}). Original message:\n{original.text}",
        color="red",
        notify=original.notify,
        created=original.created,
        fields=original.fields,
    )
