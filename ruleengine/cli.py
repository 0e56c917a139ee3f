"""Command line: run, check, test, schema, emit.

User mistakes exit 2 with a message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ruleengine import __version__
from ruleengine.config import Config, load_config
from ruleengine.config.schema import json_schema
from ruleengine.errors import ConfigError, RuleEngineError
from ruleengine.model import Event, stable_id
from ruleengine.redact import RedactingFilter, Redactor
from ruleengine.rules.engine import compile_rules
from ruleengine.senders import SenderContext, make_sender

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_RULES = "/etc/ruleengine/rules.yaml"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": round(record.created, 3),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def setup_logging(level: str, fmt: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ruleengine",
        description="Turn log lines and marker files into chat notifications, delivered durably.",
    )
    parser.add_argument("--version", action="version", version=f"ruleengine {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-c",
            "--config",
            default=os.environ.get("RULEENGINE_CONFIG", DEFAULT_RULES),
            help="rules file (default: %(default)s)",
        )

    run = commands.add_parser("run", help="run the daemon in the foreground")
    with_config(run)
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-format", default="text", choices=["text", "json"])

    check = commands.add_parser("check", help="validate a rules file (exit 0 valid, 2 invalid)")
    with_config(check)

    test = commands.add_parser("test", help="dry-run events through the rules; sends nothing")
    with_config(test)
    what = test.add_mutually_exclusive_group(required=True)
    what.add_argument("--line", help="a log line, fed to every logfile source")
    what.add_argument("--marker", type=Path, help="a marker file, fed to every markers source")

    commands.add_parser("schema", help="print the JSON Schema of the rules file")

    emit = commands.add_parser("emit", help="write a marker file atomically (for scripts)")
    emit.add_argument("event", help="event name; the file is <host>.<event>.json")
    emit.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="fields of the marker")
    emit.add_argument("--dir", required=True, type=Path, help="the markers directory")
    emit.add_argument("--host", default=None, help="host name in the file name and fields")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return EXIT_OK
        if args.command == "emit":
            return _emit(args)
        config = load_config(args.config)
        return {"check": _check, "test": _test, "run": _run}[args.command](config, args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(
            f"{count} problem{'s' if count != 1 else ''} found; nothing was started",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except RuleEngineError as exc:
        print(f"ruleengine: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130


def _check(config: Config, _args: argparse.Namespace) -> int:
    model = config.model
    print(
        f"{config.path}: OK ({len(model.sources)} sources, {len(model.rules)} rules, "
        f"{len(model.destinations)} destinations)"
    )
    return EXIT_OK


def _run(config: Config, args: argparse.Namespace) -> int:
    from ruleengine.daemon import Daemon  # noqa: PLC0415 - keeps `check` and `schema` light

    redactor = Redactor(config.secrets)
    setup_logging(args.log_level, args.log_format, redactor)
    return Daemon(config, redactor).run()


def _test(config: Config, args: argparse.Namespace) -> int:
    """Show what each rule would capture and what each destination would receive."""
    from ruleengine.sources.markers import BadMarker, decode, parse  # noqa: PLC0415

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
            return EXIT_USAGE
        except BadMarker as exc:
            print(f"{args.marker}: bad marker: {exc}", file=sys.stderr)
            return EXIT_USAGE
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
    return EXIT_OK


def _emit(args: argparse.Namespace) -> int:
    """Write ``<host>.<event>.json`` atomically: a hidden temp file, fsync, then rename."""
    import socket  # noqa: PLC0415

    host = args.host or socket.gethostname().split(".")[0]
    fields: dict[str, str] = {"host": host, "event": args.event}
    for item in args.fields:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"ruleengine emit: expected KEY=VALUE, got {item!r}", file=sys.stderr)
            return EXIT_USAGE
        fields[key] = value
    for part, label in ((host, "host"), (args.event, "event")):
        if not part or "/" in part or "\\" in part or part.startswith("."):
            print(f"ruleengine emit: invalid {label} {part!r}", file=sys.stderr)
            return EXIT_USAGE
    directory: Path = args.dir
    if not directory.is_dir():
        print(f"ruleengine emit: {directory} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    stamp = time.strftime("%Y%m%dT%H%M%S")
    final = directory / f"{host}.{args.event}.json"
    if final.exists():
        final = directory / f"{host}.{args.event}.{stamp}.{os.getpid()}.json"
    fd, temp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(fields, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        print(f"ruleengine emit: cannot write marker: {exc.strerror}", file=sys.stderr)
        return EXIT_FAIL
    print(final)
    return EXIT_OK
