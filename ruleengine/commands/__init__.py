"""One module per subcommand, each with ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args)``.

A new command is one module and one line in ``COMMANDS``.
"""

from __future__ import annotations

from types import ModuleType

from ruleengine.commands import (
    check,
    deadletters,
    emit,
    history,
    run,
    schema,
    send,
    status,
    test,
)
from ruleengine.commands.options import (
    DEFAULT_RULES,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    add_config_option,
)

COMMANDS: tuple[ModuleType, ...] = (
    run,
    check,
    test,
    send,
    status,
    history,
    deadletters,
    schema,
    emit,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_RULES",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_config_option",
]
