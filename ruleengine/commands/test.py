"""``ruleengine test``: dry-run a line or a marker through the rules; sends nothing."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ruleengine.config import load_config
from ruleengine.model import Event, stable_id
from ruleengine.redact import Redactor
from ruleengine.rules.engine import compile_rules
from ruleengine.senders import SenderContext, make_sender
from ruleengine.sources.markers import BadMarker, decode, parse

NAME = "test"
HELP = "dry-run events through the rules and show each payload; sends nothing"


def configure(parser: argparse.ArgumentParser) -> None:
    from ruleengine.commands import add_config_option  # noqa: PLC0415 - avoid import cycle

    add_config_option(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--line", help="a log line, fed to every logfile source")
    what.add_argument("--marker", type=Path, help="a marker file, fed to every markers source")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    """Show what each rule would capture and what each destination would receive."""
    model = config.model
    rules = compile_rules(model.rules, model.defaults)
    redactor = Redactor(config.secrets)
    events: list[Event] = []
    if args.line is not None:
        kinds = [n for n, s in model.sources.items() if s.type == "logfile"]
        events = [
            Event(
                stable_id("test", n, args.line),
                n,
                "line",
                args.line,
                time.time(),
                {"line": args.line, "path": "(test)"},
            )
            for n in kinds
        ]
    else:
        try:
            raw = args.marker.read_bytes()
            fields = parse(decode(raw))
        except OSError as exc:
            print(f"cannot read {args.marker}: {exc.strerror}", file=sys.stderr)
            return 2
        except BadMarker as exc:
            print(f"{args.marker}: bad marker: {exc}", file=sys.stderr)
            return 2
        meta = {
            "file": args.marker.name,
            "stem": args.marker.name.split(".", 1)[0],
            "path": str(args.marker),
            "size": len(raw),
            "mtime": time.time(),
        }
        kinds = [n for n, s in model.sources.items() if s.type == "markers"]
        events = [
            Event(
                stable_id("test", n, raw),
                n,
                "marker",
                raw.decode("utf-8", "replace"),
                time.time(),
                {**fields, **meta},
            )
            for n in kinds
        ]
    senders = {
        name: make_sender(settings, SenderContext(name, redactor))
        for name, settings in model.destinations.items()
    }
    matched = 0
    for event in events:
        for rule, fields in rules.matches(event):
            print(
                f"source {event.source}: rule {rule!r} matched; fields: "
                f"{json.dumps(fields, ensure_ascii=False)}"
            )
        for notification in rules.evaluate(event):
            matched += 1
            preview = senders[notification.destination].preview(notification)
            print(f"  → {notification.destination}: {notification.text}")
            print(
                "    " + json.dumps(preview, indent=2, ensure_ascii=False).replace("\n", "\n    ")
            )
    for sender in senders.values():
        sender.close()
    if not matched:
        print("no rule matched")
    return 0
