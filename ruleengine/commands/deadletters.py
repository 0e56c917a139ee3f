"""``ruleengine dead list|retry|purge``: inspect and act on notifications that could not go out.

Safe while the daemon runs: the state database is in WAL mode with a busy timeout, and the
daemon's workers pick up retried rows within a few seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ruleengine.commands.options import add_config_option
from ruleengine.config import load_config
from ruleengine.config.types import parse_duration
from ruleengine.escape import visible
from ruleengine.redact import Redactor
from ruleengine.state import DeadLetter, Store

HELP = "list, retry or purge dead letters (notifications that could not be delivered)"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
SHORT_ID = 12
_ERROR_WIDTH, _TEXT_WIDTH = 60, 50


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_config_option(common)
    common.add_argument(
        "--state-dir", type=Path, help="the state directory (instead of reading the rules file)"
    )
    common.add_argument("--to", metavar="DEST", help="only dead letters of this destination")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="show dead letters")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    retry = actions.add_parser(
        "retry", parents=[common], help="queue dead letters again with a fresh retry budget"
    )
    retry.add_argument("ids", nargs="*", metavar="ID", help="ids (or unique prefixes)")
    retry.add_argument("--all", action="store_true", help="every dead letter (see --to)")

    purge = actions.add_parser("purge", parents=[common], help="delete dead letters for good")
    purge.add_argument("ids", nargs="*", metavar="ID", help="ids (or unique prefixes)")
    purge.add_argument("--all", action="store_true", help="every dead letter (see --to)")
    purge.add_argument(
        "--older-than", type=_duration, metavar="AGE", help="only those dead for longer (7d)"
    )


def run(args: argparse.Namespace) -> int:
    state_dir, redactor = _state(args)
    if not (state_dir / "state.db").is_file():
        print(f"ruleengine dead: no state database in {state_dir}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(state_dir)
    try:
        if args.action == "list":
            return _list(store, args, redactor)
        return _act(store, args)
    finally:
        store.close()


def _state(args: argparse.Namespace) -> tuple[Path, Redactor]:
    if args.state_dir is not None:
        return args.state_dir, Redactor()
    config = load_config(args.config, lazy_secrets=True)  # reads and requeues; sends nothing
    return config.state_dir, Redactor(config.secrets)


def _list(store: Store, args: argparse.Namespace, redactor: Redactor) -> int:
    letters = store.dead_letters(args.to)
    now = time.time()
    if args.json:
        print(json.dumps([_as_json(letter, now, redactor) for letter in letters], indent=2))
        return EXIT_OK
    if not letters:
        print("no dead letters")
        return EXIT_OK
    table = [("DESTINATION", "ID", "AGE", "ATTEMPTS", "LAST ERROR", "TEXT")]
    for letter in letters:
        table.append(
            (
                letter.destination,
                letter.id[:SHORT_ID],
                format_age(now - letter.enqueued),
                str(letter.attempts),
                _clip(visible(redactor(letter.last_error or "")), _ERROR_WIDTH),
                _clip(visible(redactor(_first_line(letter.notification.text))), _TEXT_WIDTH),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return EXIT_OK


def _act(store: Store, args: argparse.Namespace) -> int:
    older_than = getattr(args, "older_than", None)
    if args.ids and args.all:
        return _usage("give ids or --all, not both")
    if not (args.ids or args.all or args.to is not None or older_than is not None):
        what = "ids, --all or --older-than" if args.action == "purge" else "ids or --all"
        return _usage(f"nothing selected: give {what} (optionally with --to DEST)")
    ids = None
    if args.ids:
        ids, problems = resolve_ids(args.ids, store.dead_letters(args.to))
        if problems:
            for problem in problems:
                print(f"ruleengine dead: {problem}", file=sys.stderr)
            return EXIT_FAIL
    if args.action == "retry":
        count = store.retry_dead(ids, args.to)
        print(f"queued {count} dead letter{'s' if count != 1 else ''} again")
    else:
        older = None if older_than is None else time.time() - older_than
        count = store.purge_dead(ids, args.to, older)
        print(f"purged {count} dead letter{'s' if count != 1 else ''}")
    return EXIT_OK


def resolve_ids(given: list[str], letters: list[DeadLetter]) -> tuple[list[str], list[str]]:
    """Full ids for exact ids or unique prefixes, and a problem line per id that is not one."""
    known = [letter.id for letter in letters]
    found: list[str] = []
    problems: list[str] = []
    for item in given:
        matches = [i for i in known if i == item] or [i for i in known if i.startswith(item)]
        if len(matches) == 1:
            found.append(matches[0])
        elif matches:
            problems.append(f"{item}: matches {len(matches)} dead letters; give more characters")
        else:
            problems.append(f"{item}: no such dead letter")
    return found, problems


def format_age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``: short enough for a table column."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _as_json(letter: DeadLetter, now: float, redactor: Redactor) -> dict[str, object]:
    note = letter.notification
    return {
        "id": letter.id,
        "destination": letter.destination,
        "rule": note.rule,
        "age_seconds": round(now - letter.enqueued, 3),
        "enqueued": letter.enqueued,
        "dead_since": letter.dead_since,
        "attempts": letter.attempts,
        "last_error": redactor(letter.last_error or ""),
        "title": redactor(note.title) if note.title else None,
        "text": redactor(note.text),
    }


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _usage(message: str) -> int:
    print(f"ruleengine dead: {message}", file=sys.stderr)
    return EXIT_USAGE
