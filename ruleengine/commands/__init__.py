"""One module per subcommand, each with ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args)``.

A new command is one module and one line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import os
from types import ModuleType

from ruleengine.commands import check, deadletters, emit, run, schema, send, status, test

COMMANDS: tuple[ModuleType, ...] = (run, check, test, send, status, deadletters, schema, emit)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_RULES = "/etc/ruleengine/rules.yaml"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("RULEENGINE_CONFIG", DEFAULT_RULES),
        help="rules file (default: $RULEENGINE_CONFIG or %(default)s)",
    )
