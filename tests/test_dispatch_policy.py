"""The retry policy as pure functions: backoff bounds, Retry-After handling, budgets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ruleengine.config.destinations import RetryPolicy
from ruleengine.dispatch import (
    MIN_DELAY,
    MIN_RETRY_AFTER,
    backoff_delay,
    budget_exhausted,
    fallback_notice,
    next_delay,
)
from ruleengine.model import Notification, Retry

ALMOST_ONE = 0.999999


def test_backoff_doubles_then_caps() -> None:
    ceilings = [backoff_delay(n, 1.0, 60.0, lambda: 1.0) for n in range(8)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_backoff_is_full_jitter() -> None:
    """The draw spans the whole [0, ceiling) interval, not just its upper half."""
    assert backoff_delay(5, 1.0, 300.0, lambda: 0.0) == 0.0
    assert backoff_delay(5, 1.0, 300.0, lambda: 0.5) == 16.0


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    base=st.floats(min_value=0.01, max_value=100.0),
    cap=st.floats(min_value=0.01, max_value=10_000.0),
    draw=st.floats(min_value=0.0, max_value=ALMOST_ONE),
)
def test_backoff_bounds(attempt: int, base: float, cap: float, draw: float) -> None:
    delay = backoff_delay(attempt, base, cap, lambda: draw)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 32))


def test_next_delay_never_spins() -> None:
    policy = RetryPolicy(backoff=1.0, backoff_max=10.0)
    assert next_delay(Retry("x"), 0, policy, lambda: 0.0) == MIN_DELAY
    assert next_delay(Retry("x", after=0.0), 3, policy, lambda: 0.5) == MIN_RETRY_AFTER


def test_next_delay_honours_retry_after_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=1.0, backoff_max=10.0, retry_after_max=120.0)
    # The service's wait wins over a shorter (or longer) backoff draw.
    assert next_delay(Retry("429", after=42.0), 0, policy, lambda: 0.0) == 42.0
    assert next_delay(Retry("429", after=42.0), 9, policy, lambda: ALMOST_ONE) == 42.0
    assert next_delay(Retry("429", after=86400.0), 0, policy, lambda: 0.0) == 120.0


@pytest.mark.parametrize(
    ("attempts", "age", "expected"),
    [(1, 0.0, False), (2, 0.0, False), (3, 0.0, True), (1, 3600.0, True)],
)
def test_budget(attempts: int, age: float, expected: bool) -> None:
    policy = RetryPolicy(max_attempts=3, max_age=3600.0)
    assert budget_exhausted(attempts, 1000.0, policy, 1000.0 + age) is expected


def test_budget_by_age_only_by_default() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 0
    assert policy.max_age >= 3600.0, "chat deliveries should keep trying for hours"
    assert not budget_exhausted(10_000, 0.0, policy, 60.0)


def test_fallback_notice_carries_original_and_reason() -> None:
    original = Notification("abc", "room", "rule", "src", "disk full on web1", notify=True)
    notice = fallback_notice(original, "room", "mail", "HTTP 404: channel_not_found")
    assert notice.destination == "mail"
    assert "disk full on web1" in notice.text
    assert "room" in notice.text and "HTTP 404: channel_not_found" in notice.text
    assert notice.id == fallback_notice(original, "room", "mail", "other").id
    assert notice.id != original.id
