"""``ruleengine expect list|forget``: the keys ``expect`` rules watch (learned from events).

Safe while the daemon runs: ``forget`` deletes rows in a write transaction and the daemon
re-reads the keys at its next turn. A key listed in the rule's ``keys`` is watched again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ruleengine.commands.deadletters import format_age
from ruleengine.commands.options import EXIT_FAIL, EXIT_OK, add_config_option
from ruleengine.config import Config, load_config
from ruleengine.escape import visible
from ruleengine.state import Store
from ruleengine.state import absences as rows

HELP = "list the keys `expect` rules watch, or forget some (hosts retired, say)"


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_config_option(common)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="show watched keys")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    forget = actions.add_parser("forget", parents=[common], help="stop watching keys")
    forget.add_argument("rule", metavar="RULE", help="the expect rule")
    forget.add_argument("keys", nargs="*", metavar="KEY", help="keys (none: every key)")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not (config.state_dir / "state.db").is_file():
        print(f"ruleengine expect: no state database in {config.state_dir}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(config.state_dir)
    try:
        if args.action == "forget":
            with store.transaction() as conn:
                count = rows.forget(conn, args.rule, args.keys)
            print(f"forgot {count} key{'s' if count != 1 else ''} of {visible(args.rule)}")
            return EXIT_OK if count or not args.keys else EXIT_FAIL
        return _list(store, config, args.json, time.time())
    finally:
        store.close()


def _list(store: Store, config: Config, as_json: bool, now: float) -> int:
    specs = {r.name: r.expect for r in config.model.rules if r.expect is not None}
    listed: list[dict[str, object]] = []
    for rule, key, last, seen, missing in rows.rows(store.db.conn()):
        spec = specs.get(rule)
        deadline = last + spec.every + spec.grace if spec is not None else None
        listed.append(
            {
                "rule": rule,
                "key": key,
                "last_seen": last if seen else None,
                "watched_since": None if seen else last,
                "deadline": deadline,
                "missing": missing is not None,
            }
        )
    if as_json:
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not listed:
        print("no watched keys")
    for item in listed:
        print(visible(_line(item, now, Path(config.path).name)))
    return EXIT_OK


def _line(item: dict[str, object], now: float, rules: str) -> str:
    last = item["last_seen"] if item["last_seen"] is not None else item["watched_since"]
    assert isinstance(last, float)  # noqa: S101 - both columns are REAL
    seen = f"last seen {format_age(now - last)} ago" if item["last_seen"] else "never seen"
    deadline = item["deadline"]
    if item["missing"]:
        state = "MISSING"
    elif isinstance(deadline, float):
        state = f"due in {format_age(deadline - now)}"
    else:
        state = f"(rule not in {rules})"
    return f"{item['rule']}  {item['key'] or '-'}  {seen}  {state}"
