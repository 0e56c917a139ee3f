"""Delivery: retry policy (pure), one worker thread per destination, and the dispatcher."""

from ruleengine.dispatch.dispatcher import Dispatcher
from ruleengine.dispatch.policy import (
    MIN_DELAY,
    MIN_RETRY_AFTER,
    backoff_delay,
    budget_exhausted,
    fallback_notice,
    next_delay,
)
from ruleengine.dispatch.sending import Route
from ruleengine.dispatch.worker import ERROR_PAUSE, IDLE_RECHECK, Worker

__all__ = [
    "ERROR_PAUSE",
    "IDLE_RECHECK",
    "MIN_DELAY",
    "MIN_RETRY_AFTER",
    "Dispatcher",
    "Route",
    "Worker",
    "backoff_delay",
    "budget_exhausted",
    "fallback_notice",
    "next_delay",
]
