"""The Python API: what the CLI and the tests use to load rules, dry-run them and run the daemon.

    from ruleengine import api

    rules = api.load("rules.yaml")                   # ConfigError lists every problem
    for out in api.evaluate_line(rules, "ERROR disk full"):
        print(out.notification.destination, out.payload)   # exactly what would be sent

    with api.running("rules.yaml") as daemon:        # in-process; threads stop on exit
        ...                                          # write a log line, drop a marker
        daemon.wait_drained(10)                      # engine and deliveries idle

Dry runs are pure: they read no state and send nothing. ``evaluate`` shows each event on its
own (as ``ruleengine test`` does), before throttle windows and digests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ruleengine.config import load_config
from ruleengine.dryrun import (
    Output,
    Rules,
    evaluate,
    evaluate_line,
    http_events,
    line_events,
    load,
    marker_events,
)
from ruleengine.pipeline.supervisor import SHUTDOWN_TIMEOUT, Supervisor
from ruleengine.redact import Redactor

__all__ = [
    "Daemon",
    "Output",
    "Rules",
    "evaluate",
    "evaluate_line",
    "http_events",
    "line_events",
    "load",
    "marker_events",
    "running",
]


class Daemon:
    """A daemon running in this process (see ``running``); no signal handling, no exit."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor

    def wait_drained(self, timeout: float = 10.0) -> bool:
        """Wait until everything emitted so far is committed and no delivery is due now."""
        return self.supervisor.wait_drained(timeout)

    def reload(self) -> bool:
        """Re-read the rules file now (as SIGHUP does); False if it was rejected."""
        return self.supervisor.reload("api", force=True)


@contextmanager
def running(path: str | Path, stop_timeout: float = SHUTDOWN_TIMEOUT) -> Iterator[Daemon]:
    """Run the daemon for ``path`` in this process; stop it (joining its threads) on exit.

    Raises RuntimeError on exit if deliveries were still in flight after ``stop_timeout``.
    Reloads happen on ``Daemon.reload()``: the rules file watch needs the ``run`` loop.
    """
    config = load_config(path)
    supervisor = Supervisor(config, Redactor(config.secrets), stop_timeout=stop_timeout)
    try:
        supervisor.start()
    except BaseException:
        supervisor.stop()
        raise
    try:
        yield Daemon(supervisor)
    finally:
        if not supervisor.stop():
            raise RuntimeError(f"deliveries still in flight after {stop_timeout:g}s")
