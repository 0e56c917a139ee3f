"""``ruleengine schema``: the JSON Schema of the rules file, for editors."""

from __future__ import annotations

import argparse
import json

from ruleengine.config.schema import json_schema

HELP = "print the JSON Schema of the rules file"


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0
