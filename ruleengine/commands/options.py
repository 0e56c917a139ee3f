"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import os

DEFAULT_RULES = "/etc/ruleengine/rules.yaml"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("RULEENGINE_CONFIG", DEFAULT_RULES),
        help="rules file (default: $RULEENGINE_CONFIG or %(default)s)",
    )
