"""``ruleengine silence add|list|expire``: hold notifications back for a while, durably.

Safe while the daemon runs (WAL and a busy timeout, as ``dead``): the daemon notices a new or
expired silence at its next turn (within seconds) and, when a silence ends, sends one summary
per destination it held notifications back from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from ruleengine.commands.deadletters import format_age
from ruleengine.commands.options import EXIT_FAIL, EXIT_OK, EXIT_USAGE, add_config_option
from ruleengine.config import Config, load_config
from ruleengine.config.types import parse_duration
from ruleengine.escape import visible
from ruleengine.state import Store
from ruleengine.state import silences as rows

KEEP_ENDED = 90 * 86400.0  # summarised silences stay listed (`list --all`) this long
HELP = "silence notifications for a while (by rule or field values); list and expire silences"


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_config_option(common)
    common.add_argument(
        "--state-dir", type=Path, help="the state directory (instead of reading the rules file)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="start a silence")
    add.add_argument("--rule", help="silence this rule's notifications")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only notifications whose field has this value (repeatable; also rule=, destination=)",
    )
    length = add.add_mutually_exclusive_group(required=True)
    length.add_argument("--for", dest="duration", metavar="DURATION", help="how long: 2h, 30m")
    length.add_argument(
        "--until", metavar="TIME", help="until 06:00 (next), 2026-12-03 06:00 or ISO 8601"
    )
    add.add_argument("--reason", required=True, help="why (shown in lists and the summary)")
    listing = actions.add_parser("list", parents=[common], help="show silences")
    listing.add_argument("--all", action="store_true", help="also those over and summarised")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    expire = actions.add_parser("expire", parents=[common], help="end a silence now")
    expire.add_argument("id", metavar="ID", help="silence id (or a unique prefix)")


def run(args: argparse.Namespace) -> int:
    state_dir, config = _state(args)
    now = time.time()
    if args.action == "add":
        try:
            match, ends = _parse_add(args, config, now)
        except ValueError as exc:  # before the database is touched: a typo creates nothing
            print(f"ruleengine silence: {exc}", file=sys.stderr)
            return EXIT_USAGE
    elif not (state_dir / "state.db").is_file():
        print(f"ruleengine silence: no state database in {state_dir}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(state_dir)
    try:
        if args.action == "add":
            return _add(store, args, match, ends, now)
        if args.action == "expire":
            return _expire(store, args.id, now)
        return _list(store, args, now)
    finally:
        store.close()


def _state(args: argparse.Namespace) -> tuple[Path, Config | None]:
    if args.state_dir is not None:
        return args.state_dir, None
    config = load_config(args.config)
    return config.state_dir, config


def parse_until(text: str, now: float) -> float:
    """Epoch seconds of ``HH:MM`` (its next occurrence, local time), a local date and time, or
    ISO 8601 with an offset. ValueError with a readable message otherwise."""
    text = text.strip()
    local = dt.datetime.fromtimestamp(now).astimezone()
    try:
        clock = dt.time.fromisoformat(text)
    except ValueError:
        pass
    else:
        when = dt.datetime.combine(local.date(), clock).astimezone()
        if when.timestamp() <= now:
            when = dt.datetime.combine(local.date() + dt.timedelta(days=1), clock).astimezone()
        return when.timestamp()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: expected HH:MM, YYYY-MM-DD HH:MM or ISO 8601"
        ) from None
    return (when if when.tzinfo is not None else when.astimezone()).timestamp()


def _matchers(given: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--match {item!r}: expected FIELD=VALUE")
        pairs.append((name.strip(), value))
    return pairs


def _parse_add(
    args: argparse.Namespace, config: Config | None, now: float
) -> tuple[list[tuple[str, str]], float]:
    """(matchers, end) of ``silence add``; ValueError with a message for the user."""
    match = _matchers(args.match)
    if args.rule is None and not match:
        raise ValueError("say what to silence: --rule RULE and/or --match FIELD=VALUE")
    if config is not None and args.rule is not None:
        names = {rule.name for rule in config.model.rules}
        if args.rule not in names:
            raise ValueError(f"no rule named {args.rule!r} in {config.path}")
    ends = now + parse_duration(args.duration) if args.duration else parse_until(args.until, now)
    if ends <= now:
        raise ValueError("the silence would already be over")
    return match, ends


def _add(
    store: Store, args: argparse.Namespace, match: list[tuple[str, str]], ends: float, now: float
) -> int:
    with store.transaction() as conn:
        rows.prune(conn, now - KEEP_ENDED)
        ident = rows.add(conn, args.rule, match, now, ends, args.reason, now)
    until = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ends))
    print(f"silence {ident} until {until}: {visible(args.reason)}")
    return EXIT_OK


def _expire(store: Store, prefix: str, now: float) -> int:
    with store.transaction() as conn:
        ids = rows.expire(conn, prefix, now)
    if len(ids) == 1:
        print(f"silence {ids[0]} expired; the daemon sends its summary within seconds")
        return EXIT_OK
    problem = "no such open silence" if not ids else f"matches {len(ids)} silences"
    print(f"ruleengine silence: {prefix}: {problem}", file=sys.stderr)
    return EXIT_FAIL


def _list(store: Store, args: argparse.Namespace, now: float) -> int:
    listed = rows.listing(store.db.conn(), args.all)
    if args.json:
        print(json.dumps([as_json(item, now) for item in listed], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not listed:
        print("no silences")
    for line in silence_lines(listed, now):
        print(line)
    return EXIT_OK


def silence_lines(listed: list[rows.Listed], now: float) -> list[str]:
    """One line per silence: id, state, what it matches, counts, reason (for list and status)."""
    out = []
    for item in listed:
        silence = item.silence
        if silence.ends > now:
            state = f"ends in {format_age(silence.ends - now)}"
        else:
            state = f"ended {format_age(now - silence.ends)} ago"
        held = sum(item.suppressed.values())
        out.append(
            visible(
                f"{silence.id}  {state}  {silence.describe()}  {held} silenced  {silence.reason}"
            )
        )
    return out


def as_json(item: rows.Listed, now: float) -> dict[str, object]:
    silence = item.silence
    return {
        "id": silence.id,
        "rule": silence.rule,
        "match": dict(silence.match),
        "starts": silence.starts,
        "ends": silence.ends,
        "active": silence.active(now),
        "reason": silence.reason,
        "summarized": item.summarized,
        "suppressed": item.suppressed,
    }
