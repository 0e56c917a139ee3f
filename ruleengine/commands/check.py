"""``ruleengine check``: validate a rules file; exit 0 when valid, 2 with every problem."""

from __future__ import annotations

import argparse
import sys

from ruleengine.commands.options import add_config_option
from ruleengine.config import load_config
from ruleengine.rules.compiler import compile_model
from ruleengine.words import plural

HELP = "validate a rules file (exit 0 valid, 2 invalid)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--no-secrets",
        action="store_true",
        help="missing ${env:…}/${file:…} secrets of destinations are warnings (CI without them)",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, lazy_secrets=args.no_secrets)
    model = config.model
    rules = compile_model(model)  # the compile `run` does: what fails there fails here
    counts = ", ".join(
        plural(len(items), noun)
        for items, noun in (
            (model.sources, "source"),
            (model.rules, "rule"),
            (model.destinations, "destination"),
        )
    )
    for warning in (*config.warnings, *rules.warnings):
        print(warning, file=sys.stderr)
    for problems in config.unresolved.values():
        for problem in problems:
            print(f"{problem} (warning: --no-secrets)", file=sys.stderr)
    if rules.disabled:
        counts += f"; disabled: {', '.join(rules.disabled)}"
    print(f"{config.path}: OK ({counts})")
    return 0
