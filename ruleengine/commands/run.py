"""``ruleengine run``: the daemon, in the foreground (systemd runs it like this)."""

from __future__ import annotations

import argparse

from ruleengine.config import load_config
from ruleengine.logsetup import setup_logging
from ruleengine.redact import Redactor

NAME = "run"
HELP = "run the daemon in the foreground"


def configure(parser: argparse.ArgumentParser) -> None:
    from ruleengine.commands import add_config_option  # noqa: PLC0415 - avoid import cycle

    add_config_option(parser)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log-format", default="text", choices=["text", "json"])


def run(args: argparse.Namespace) -> int:
    from ruleengine.daemon import Daemon  # noqa: PLC0415 - keeps the other commands light

    config = load_config(args.config)
    redactor = Redactor(config.secrets)
    setup_logging(args.log_level, args.log_format, redactor)
    return Daemon(config, redactor).run()
