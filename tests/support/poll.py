"""The one polling helper: wait until a condition holds, or fail saying what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    condition: Callable[[], T],
    timeout: float = 15.0,
    what: str | Callable[[], str] = "condition",
    interval: float = 0.02,
) -> T:
    """Poll ``condition()`` until it is truthy and return that value.

    After ``timeout`` seconds the test fails, naming ``what`` it waited for (a callable is asked
    then, for a message that shows the latest state).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {detail}")
        time.sleep(interval)
