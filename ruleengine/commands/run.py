"""``ruleengine run``: the daemon, in the foreground (systemd runs it like this).

The signal loop lives here and blocks: signals (through ``signal.set_wakeup_fd``) and the rules
file watch write to one socket, and the loop sleeps in ``select`` until a byte arrives or the
supervisor's next timer (reload debounce, systemd status) is due. SIGTERM/SIGINT stop
gracefully, a second one exits at once; SIGHUP reloads.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import select
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ruleengine import gcpolicy
from ruleengine.commands.options import add_config_option
from ruleengine.config import load_config
from ruleengine.errors import ExitNow, StateError
from ruleengine.logsetup import setup_logging
from ruleengine.metrics import Metrics, parse_address
from ruleengine.pipeline.supervisor import SHUTDOWN_TIMEOUT, Supervisor
from ruleengine.redact import Redactor
from ruleengine.state.db import recovery_hint
from ruleengine.systemd import Notifier

HELP = "run the daemon in the foreground"
log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RELOAD_SIGNALS = (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
_WAKE = b"\0"  # written by the rules file watch; never a signal number


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log-format", default="text", choices=["text", "json"])
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="on SIGTERM, how long in-flight deliveries may take to finish (default: 15)",
    )
    parser.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics on this loopback address (needs ruleengine[metrics])",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    redactor = Redactor(config.secrets)
    setup_logging(args.log_level, args.log_format, redactor)
    timeout = SHUTDOWN_TIMEOUT if args.stop_timeout is None else max(args.stop_timeout, 0.0)
    metrics = None
    if args.metrics:
        metrics = Metrics(config.state_dir / "state.db", parse_address(args.metrics))
    with _wakeup_socket() as (reader, writer):
        try:
            supervisor = Supervisor(
                config,
                redactor,
                notifier=Notifier.from_environ(),
                stop_timeout=timeout,
                metrics=metrics,
                on_wake=lambda: _poke(writer),
            )
        except StateError as exc:
            if "newer ruleengine" in str(exc):
                raise
            raise StateError(f"{exc}\n{recovery_hint(config.state_dir / 'state.db')}") from None
        return serve(supervisor, reader)


@contextmanager
def _wakeup_socket() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A socket pair that signals wake (``set_wakeup_fd``), with no-op handlers installed so
    the signals are delivered instead of killing the process; all restored on exit."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous = {sig: signal.signal(sig, _note) for sig in (*STOP_SIGNALS, *RELOAD_SIGNALS)}
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield reader, writer
    finally:
        signal.set_wakeup_fd(old_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reader.close()
        writer.close()


def _note(_signum: int, _frame: FrameType | None) -> None:
    """The wakeup fd carries the signal; the handler only keeps the default action away."""


def _poke(writer: socket.socket) -> None:
    # Buffer full: the loop is awake anyway. Closed: it is shutting down.
    with contextlib.suppress(OSError):
        writer.send(_WAKE)


def _exit_now(signum: int, _frame: FrameType | None) -> None:
    # Every write is a transaction, so the database stays consistent.
    log.warning("second %s: exiting now", signal.Signals(signum).name)
    raise ExitNow(1)


def serve(supervisor: Supervisor, wakeup: socket.socket) -> int:
    """Start, then block until a stop signal; reload on SIGHUP. Raises ExitNow when threads
    are still in a send after the stop timeout, or on a second stop signal."""
    gcpolicy.settle()  # the rules, sources and senders live as long as the daemon
    supervisor.start()
    reloads = supervisor.reloads
    stop: int | None = None
    while stop is None:
        readable, _, _ = select.select([wakeup], [], [], supervisor.next_timer())
        data = _drain(wakeup) if readable else b""
        for signum in data:
            if signum in STOP_SIGNALS:
                if stop is not None:
                    _exit_now(signum, None)
                stop = signum
            elif signum in RELOAD_SIGNALS:
                supervisor.reload("SIGHUP", force=True)
        if stop is None:
            supervisor.on_timer()
        if supervisor.reloads != reloads:
            reloads = supervisor.reloads
            gcpolicy.resettle()  # the old rules' cycles go, the new rules settle
    for sig in STOP_SIGNALS:  # from now on a stop signal interrupts the shutdown
        signal.signal(sig, _exit_now)
    log.info("%s received: stopping", signal.Signals(stop).name)
    if not supervisor.stop():
        log.warning(
            "stopped after %gs with deliveries still in flight; they stay pending and "
            "are sent after the next start",
            supervisor.stop_timeout,
        )
        raise ExitNow(0)  # threads still in a send must not delay the exit
    log.info("stopped")
    return 0


def _drain(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
