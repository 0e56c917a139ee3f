"""One module per subcommand, each with ``HELP``, ``configure(parser)`` and ``run(args)``.

A new command is one module and one line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ruleengine.commands.options import (
    DEFAULT_RULES,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    add_config_option,
)

#: Subcommand name -> its module in this package, in the order ``--help`` lists them. A
#: command's module is imported when that command runs (or for the full ``--help``), so
#: ``ruleengine run`` does not load what ``emit`` and ``send`` need (requests, ~70 ms).
COMMANDS: dict[str, str] = {
    "run": "run",
    "check": "check",
    "test": "test",
    "send": "send",
    "status": "status",
    "history": "history",
    "dead": "deadletters",
    "schema": "schema",
    "emit": "emit",
    "silence": "silence",
    "expect": "expect",
}


def command(name: str) -> ModuleType:
    """The module of subcommand ``name`` (a key of ``COMMANDS``)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")


__all__ = [
    "COMMANDS",
    "DEFAULT_RULES",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_config_option",
    "command",
]
