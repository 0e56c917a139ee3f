"""``ruleengine run``: the daemon, in the foreground (systemd runs it like this)."""

from __future__ import annotations

import argparse

from ruleengine.commands.options import add_config_option
from ruleengine.config import load_config
from ruleengine.errors import StateError
from ruleengine.logsetup import setup_logging
from ruleengine.redact import Redactor
from ruleengine.state.db import recovery_hint

NAME = "run"
HELP = "run the daemon in the foreground"


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
    from ruleengine.daemon import SHUTDOWN_TIMEOUT, Daemon  # noqa: PLC0415 - keeps others light
    from ruleengine.systemd import Notifier  # noqa: PLC0415

    config = load_config(args.config)
    redactor = Redactor(config.secrets)
    setup_logging(args.log_level, args.log_format, redactor)
    timeout = SHUTDOWN_TIMEOUT if args.stop_timeout is None else max(args.stop_timeout, 0.0)
    metrics = None
    if args.metrics:
        from ruleengine.metrics import Metrics, parse_address  # noqa: PLC0415

        metrics = Metrics(config.state_dir / "state.db", parse_address(args.metrics))
    try:
        daemon = Daemon(
            config, redactor, Notifier.from_environ(), stop_timeout=timeout, metrics=metrics
        )
    except StateError as exc:
        if "newer ruleengine" in str(exc):
            raise
        raise StateError(f"{exc}\n{recovery_hint(config.state_dir / 'state.db')}") from None
    return daemon.run()
