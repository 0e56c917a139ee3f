"""``ruleengine check``: validate a rules file; exit 0 when valid, 2 with every problem."""

from __future__ import annotations

import argparse
import sys

from ruleengine.commands.options import add_config_option
from ruleengine.config import load_config
from ruleengine.rules.engine import compile_model

NAME = "check"
HELP = "validate a rules file (exit 0 valid, 2 invalid)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    model = config.model
    rules = compile_model(model)  # the compile `run` does: what fails there fails here
    counts = ", ".join(
        _plural(len(items), noun)
        for items, noun in (
            (model.sources, "source"),
            (model.rules, "rule"),
            (model.destinations, "destination"),
        )
    )
    for warning in (*config.warnings, *rules.warnings):
        print(warning, file=sys.stderr)
    print(f"{config.path}: OK ({counts})")
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
