"""Command line entry point. User mistakes exit 2 with a message, never a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ruleengine import __version__, gcpolicy
from ruleengine.commands import COMMANDS, EXIT_FAIL, EXIT_USAGE, command
from ruleengine.errors import ConfigError, ExitNow, RuleEngineError


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with only the subcommand it names, when it names one (each
    command's module is imported only when needed); none for ``--version`` alone; otherwise
    with all of them (``--help``, a mistyped command)."""
    chosen = next((arg for arg in argv or () if not arg.startswith("-")), None)
    if chosen is None and "--version" in (argv or ()):
        names: list[str] = []  # argparse answers it before looking for a command
    else:
        names = [chosen] if chosen in COMMANDS else list(COMMANDS)
    parser = argparse.ArgumentParser(
        prog="ruleengine",
        description="Turn log lines and marker files into chat notifications, delivered durably.",
    )
    parser.add_argument("--version", action="version", version=f"ruleengine {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in names:
        module = command(name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the only place that ends the process without unwinding (``ExitNow``)."""
    if argv is None:
        argv = sys.argv[1:]
    with gcpolicy.starting():  # importing a command allocates much and frees little
        parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        found = f"{count} problem{'' if count == 1 else 's'} found"
        # Only `run` starts anything; `check`, `send`, `status`… just stop.
        print(f"{found}; nothing was started" if args.command == "run" else found, file=sys.stderr)
        return EXIT_USAGE
    except RuleEngineError as exc:
        print(f"ruleengine: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except ExitNow as exc:
        # Threads still inside a send must not delay the exit; every write was a transaction.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exc.code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ruleengine status | head`: the reader left. Silence the flush at exit, no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAIL
    return result
