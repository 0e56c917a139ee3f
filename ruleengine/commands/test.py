"""``ruleengine test``: dry-run a line, a marker or a whole log through the rules; sends nothing.

``--file`` replays a log through the daemon's own reading and matching code (the logfile
tail, ``RuleSet.select_lines``), a chunk at a time in bounded memory, and reports counts per
rule and lines/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ruleengine.commands.options import add_config_option
from ruleengine.commands.replay_file import replay_file
from ruleengine.commands.simulate import time_preview
from ruleengine.config.loader import Config
from ruleengine.dryrun import http_events, line_events, load, marker_events
from ruleengine.model import Event, Notification
from ruleengine.render import render_digest, render_fired
from ruleengine.rules.compiled import Fired
from ruleengine.rules.digest import Group
from ruleengine.rules.engine import RuleSet
from ruleengine.senders import Sender
from ruleengine.sources.http.parse import Rejected, media_type_of
from ruleengine.sources.journal.entry import sample
from ruleengine.sources.markers.payload import BadMarker
from ruleengine.templates import HOSTNAME

HELP = "dry-run events through the rules and show each payload; sends nothing"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--line", help="a log line, fed to every logfile and journal source")
    what.add_argument(
        "--marker",
        type=Path,
        metavar="FILE|NAME",
        help="a marker file, or a bare marker name (no such file here: an empty payload, or"
        " --data), fed to every markers source",
    )
    parser.add_argument(
        "--data", help="with --marker NAME: the marker's content (JSON, YAML or key=value lines)"
    )
    what.add_argument("--file", type=Path, help="a whole log file, replayed line by line")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="with --file: list what would be sent and when, on the lines' own timestamps "
        "(thresholds, absences, resolved notices, schedules and stored silences included)",
    )
    what.add_argument(
        "--journal",
        type=Path,
        help="a journal directory or file, replayed entry by entry through every journal "
        "source's filters and rules",
    )
    what.add_argument(
        "--event",
        help="a JSON body (or @FILE) as posted to an http source; CloudEvents when it has "
        "a specversion",
    )
    parser.add_argument("--limit", type=int, help="with --file/--journal: stop after N lines")
    parser.add_argument("--source", help="only this source (default: every fitting source)")
    parser.add_argument("--json", action="store_true", help="with --file: summary as JSON")
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="with --file: count matches without rendering templates (matching speed alone)",
    )


def run(args: argparse.Namespace) -> int:
    """Show what each rule would capture and what each destination would receive."""
    if args.data is not None and args.marker is None:
        print("--data goes with --marker NAME", file=sys.stderr)
        return 2
    loaded = load(args.config, lazy_secrets=True)  # sends nothing: needs no secret
    config, rules = loaded.config, loaded.rules
    kind = "markers" if args.marker is not None else "logfile"
    kind = "journal" if args.journal is not None else kind
    kind = "http" if args.event is not None else kind
    kinds = ("logfile", "journal") if args.line is not None else (kind,)
    sources = [n for n, s in config.model.sources.items() if s.type in kinds]
    if args.source is not None:
        if args.source not in sources:
            print(f"no {' or '.join(kinds)} source named {args.source!r}", file=sys.stderr)
            return 2
        sources = [args.source]
    senders = loaded.senders()
    try:
        if args.file is not None:
            return replay_file(args, config, rules, sources, senders)
        if args.journal is not None:
            # Only --journal pays for the journal reader.
            from ruleengine.commands.journal_replay import replay_journal  # noqa: PLC0415

            return replay_journal(args, config, rules, sources)
        events = _events(args, sources, config)
        return 2 if events is None else _show(events, rules, senders)
    finally:
        for sender in senders.values():
            sender.close()


def _events(args: argparse.Namespace, sources: list[str], config: Config) -> list[Event] | None:
    """The one line, marker or posted body as each source would emit it; None: said why."""
    if args.line is not None:
        return _line_events(args.line, sources, config)
    if args.event is not None:
        return _http_events(args.event, sources, config)
    return _marker_events(args.marker, sources, args.data)


def _line_events(line: str, sources: list[str], config: Config) -> list[Event]:
    """The line as each logfile source would emit it, or as a journal entry's MESSAGE."""
    journal = [n for n in sources if config.model.sources[n].type == "journal"]
    now = time.time()
    by_name = {e.source: e for e in line_events(line, [n for n in sources if n not in journal])}
    by_name.update({n: sample(n, line, now, HOSTNAME) for n in journal})
    return [by_name[n] for n in sources]


def _marker_events(path: Path, sources: list[str], data: str | None) -> list[Event] | None:
    content = None if data is None else data.encode("utf-8")
    if content is None and not path.exists() and path.parent == Path():
        # A bare name is a marker to imagine; a path that is not there is a mistake.
        print(f"no file {path}: testing the name alone, with an empty payload", file=sys.stderr)
        content = b""
    try:
        return marker_events(path, sources, content)
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None
    except BadMarker as exc:
        print(f"{path}: bad marker: {exc}", file=sys.stderr)
        return None


def _http_events(argument: str, sources: list[str], config: Config) -> list[Event] | None:
    try:
        body = Path(argument[1:]).read_bytes() if argument.startswith("@") else argument.encode()
    except OSError as exc:
        print(f"cannot read {argument[1:]}: {exc.strerror}", file=sys.stderr)
        return None
    try:
        settings = {n: config.model.sources[n] for n in sources}
        return http_events(body, sources, media_type_of(body), settings)
    except Rejected as exc:
        print(f"the intake would refuse it ({exc.status}): {exc}", file=sys.stderr)
        return None


def _show(events: list[Event], rules: RuleSet, senders: dict[str, Sender]) -> int:
    matched = 0
    for event, chosen in zip(events, rules.selections(events), strict=True):
        for rule, fields in chosen:
            print(
                f"source {event.source}: rule {rule.name!r} selected the event; fields: "
                f"{json.dumps(fields, ensure_ascii=False)}"
            )
        for fired in rules.apply_when(event, chosen):
            matched += 1
            _print_fired(fired, senders)
    if not matched:
        print("no rule matched")
    return 0


def _print_fired(fired: Fired, senders: dict[str, Sender]) -> None:
    rule = fired.rule
    stop = " (stop: later rules skip this event)" if rule.stop else ""
    print(f"rule {rule.name!r} fires{stop}")
    notes, fired = time_preview(fired, time.time())
    for note in notes:
        print(f"  {note}")
    notifications = render_fired(fired)
    if rule.throttle is not None:
        print(f"  throttle: at most one per key per {rule.throttle.window:g}s")
    if rule.digest is not None:
        record = dict(notifications[0].fields) if notifications else {}
        record["message"] = notifications[0].text if notifications else ""
        by = "\x1f".join(str(record.get(name, "")) for name in rule.digest.by)
        print(
            f"  digest: collected for {rule.digest.wait:g}s (or {rule.digest.max} events);"
            " a digest of this one event would be:"
        )
        notifications = render_digest(rule, Group(rule.name, by, 0.0, [record]))
    for notification in notifications:
        _print_notification(notification, senders)


def _print_notification(notification: Notification, senders: dict[str, Sender]) -> None:
    preview = senders[notification.destination].preview(notification)
    print(f"  → {notification.destination}: {notification.text}")
    print("    " + json.dumps(preview, indent=2, ensure_ascii=False).replace("\n", "\n    "))
