"""``ruleengine history``: what was sent, where, when and how it went (safe beside the daemon);
``--silenced`` / ``--dropped``: what silences held back or schedules dropped instead.

Reads the ``history`` table of the state database (``state/history.py``); the daemon writes it
as each notification is settled and prunes it to the rules file's ``history:`` bounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from ruleengine.commands.deadletters import SHORT_ID
from ruleengine.commands.options import EXIT_FAIL, EXIT_OK, add_config_option
from ruleengine.config import load_config
from ruleengine.config.types import parse_duration
from ruleengine.escape import visible
from ruleengine.redact import Redactor
from ruleengine.state import Store
from ruleengine.state.history import SENT, Entry, Query

HELP = "show the notifications sent (or silenced, dropped): time, rule, destination, outcome, text"
_TEXT_WIDTH = 60


def since(text: str) -> float:
    """``--since``: an age (``30m``, ``2d``) or a local date/time (``2026-12-01 10:00``)."""
    try:
        return time.time() - parse_duration(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an age such as 2h or 7d, or a date such as 2026-12-01 10:00, got {text!r}"
        ) from None


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--state-dir", type=Path, help="the state directory (instead of reading the rules file)"
    )
    parser.add_argument("--rule", help="only notifications of this rule")
    parser.add_argument("--to", metavar="DEST", help="only notifications to this destination")
    parser.add_argument("--since", type=since, metavar="WHEN", help="an age (2h, 7d) or a date")
    parser.add_argument("--grep", metavar="TEXT", help="only messages containing TEXT (any case)")
    parser.add_argument("--failed", action="store_true", help="only those not delivered")
    parser.add_argument(
        "--silenced",
        action="store_true",
        help="what silences suppressed instead (which silence, and the text it would have sent)",
    )
    parser.add_argument(
        "--dropped",
        action="store_true",
        help="what schedules dropped instead (which schedule, and the text it would have sent)",
    )
    parser.add_argument("--limit", type=int, default=1000, help="newest N (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def query(args: argparse.Namespace) -> Query:
    """The filters given on the command line (a later option may add its own)."""
    return Query(
        rule=args.rule,
        destination=args.to,
        since=args.since,
        grep=args.grep,
        outcomes=outcomes(args),
        limit=max(args.limit, 1),
    )


def outcomes(args: argparse.Namespace) -> tuple[str, ...]:
    """What was sent (delivered or dead) unless options ask for what was not; they combine."""
    flags = (("dead", args.failed), ("silenced", args.silenced), ("dropped", args.dropped))
    asked = [outcome for outcome, flag in flags if flag]
    return tuple(asked) or SENT


def run(args: argparse.Namespace) -> int:
    if args.state_dir is not None:
        state_dir, redactor = args.state_dir, Redactor()
    else:
        config = load_config(args.config, lazy_secrets=True)  # reads; needs no secret
        state_dir, redactor = config.state_dir, Redactor(config.secrets)
    if not (state_dir / "state.db").is_file():
        print(f"ruleengine history: no state database in {state_dir}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(state_dir)
    try:
        entries = store.history(query(args))
    finally:
        store.close()
    if args.json:
        print(json.dumps([_as_json(entry, redactor) for entry in entries], indent=2))
    elif not entries:
        print("nothing in the history matches")
    else:
        _table(entries, redactor)
    return EXIT_OK


def _as_json(entry: Entry, redactor: Redactor) -> dict[str, object]:
    data = entry.as_json()
    data["text"] = redactor(entry.text)
    data["error"] = redactor(entry.error) if entry.error else None
    data["cause"] = redactor(entry.cause) if entry.cause else None
    return data


def _table(entries: list[Entry], redactor: Redactor) -> None:
    rows = [("TIME", "ID", "RULE", "EVENT", "DESTINATION", "OUTCOME", "ATTEMPTS", "TEXT")]
    for entry in entries:
        why = entry.cause if entry.cause is not None else entry.error
        text = entry.text if entry.outcome == "delivered" else f"{why or ''} | {entry.text}"
        rows.append(
            (
                dt.datetime.fromtimestamp(entry.time).strftime("%Y-%m-%d %H:%M:%S"),
                entry.id[:SHORT_ID],
                visible(entry.rule),
                visible(entry.event),
                entry.destination,
                entry.outcome,
                str(entry.attempts),
                _clip(visible(redactor(text))),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 1] + "…"
