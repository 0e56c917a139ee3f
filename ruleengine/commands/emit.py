"""``ruleengine emit``: write a marker file atomically, for shell scripts."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

NAME = "emit"
HELP = "write a marker file atomically (for scripts)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", help="event name; the file is <host>.<event>.json")
    parser.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="fields of the marker")
    parser.add_argument("--dir", required=True, type=Path, help="the markers directory")
    parser.add_argument("--host", default=None, help="host name in the file name and fields")


def run(args: argparse.Namespace) -> int:
    """Write ``<host>.<event>.json`` atomically: a hidden temp file, fsync, then rename."""
    host = args.host or socket.gethostname().split(".")[0]
    fields: dict[str, str] = {"host": host, "event": args.event}
    for item in args.fields:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"ruleengine emit: expected KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        fields[key] = value
    for part, label in ((host, "host"), (args.event, "event")):
        if not part or "/" in part or "\\" in part or part.startswith("."):
            print(f"ruleengine emit: invalid {label} {part!r}", file=sys.stderr)
            return 2
    directory: Path = args.dir
    if not directory.is_dir():
        print(f"ruleengine emit: {directory} is not a directory", file=sys.stderr)
        return 2
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
        return 1
    print(final)
    return 0
