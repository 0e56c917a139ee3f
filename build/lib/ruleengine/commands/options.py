"""Options and exit codes shared by several commands (a leaf module: no command imports)."""

from __future__ import annotations

import argparse
import os

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_RULES = "/etc/ruleengine/rules.yaml"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("RULEENGINE_CONFIG", DEFAULT_RULES),
        help="rules file (default: $RULEENGINE_CONFIG or %(default)s)",
    )
