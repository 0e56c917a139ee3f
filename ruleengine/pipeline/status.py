"""The daemon's one-line status (systemd's STATUS=) and its record for ``ruleengine status``."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from ruleengine.errors import StateError
from ruleengine.state import Store
from ruleengine.state.db import diagnose, open_readonly
from ruleengine.state.meta import record_daemon
from ruleengine.state.queues import queue_summary
from ruleengine.words import human_duration, plural

log = logging.getLogger(__name__)


def status_text(state_db: Path, sources: int, rules: int, config_hash: str | None) -> str:
    """``3 sources, 12 rules, config ab12…; 0 pending, last delivery 5s ago``."""
    head = f"{plural(sources, 'source')}, {plural(rules, 'rule')}, config {config_hash}"
    try:
        conn = open_readonly(state_db)
        try:
            summary = queue_summary(conn)
        finally:
            conn.close()
    except Exception as exc:  # status is informative only: never fail the daemon for it
        return f"{head}; queue unknown ({exc})"
    now = time.time()
    parts = [f"{summary.pending} pending"]
    if summary.oldest_pending is not None:
        parts[0] += f" (oldest {human_duration(now - summary.oldest_pending)})"
    if summary.last_delivery is not None:
        parts.append(f"last delivery {human_duration(now - summary.last_delivery)} ago")
    if summary.dead:
        parts.append(f"{summary.dead} dead letters")
    return f"{head}; {', '.join(parts)}"


def record(store: Store, fields: dict[str, Any], *, first: bool = False) -> None:
    """Write the daemon's facts for ``status``; bookkeeping never stops delivery. The
    ``first`` write, at start, is also the proof that the state database takes writes: a
    daemon that cannot commit what it reads must not start (StateError)."""
    try:
        record_daemon(store, fields)
    except sqlite3.Error as exc:
        if first:
            raise StateError(
                f"cannot write state database {store.path}: {exc}{diagnose(store.path.parent)}"
            ) from None
        log.warning("cannot record daemon state for `status`: %s", exc)
    except Exception as exc:
        log.warning("cannot record daemon state for `status`: %s", exc)
