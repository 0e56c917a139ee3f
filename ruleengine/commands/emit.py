"""``ruleengine emit``: write a marker file atomically, for shell scripts.

``KEY=VALUE`` keeps the value as text (``count=007`` stays ``"007"``, as a log capture would);
``KEY:=JSON`` stores a typed JSON value (``count:=3``, ``ok:=true``, ``kbs:='["KB1","KB2"]'``).
The marker is written to a hidden temp file, fsynced, then linked to its final name, which
never overwrites an existing marker: a daemon never sees a half-written or replaced file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruleengine.commands.emit_post import post_event

HELP = "write a marker file atomically, or post an event to an http source (for scripts)"
_NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_EXTENSION = {"json": "json", "kv": "kv"}
_RESERVED = ("host", "event")


class UsageError(Exception):
    """Bad arguments: exit 2 with this message."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", help="event name; the file is <host>.<event>.json")
    parser.add_argument(
        "fields",
        nargs="*",
        metavar="KEY=VALUE",
        help="fields of the marker: KEY=text, or KEY:=JSON for a typed value (number, list…)",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--dir", type=Path, help="the markers directory")
    where.add_argument("--url", help="post to an http source instead (http[s]://host:port)")
    parser.add_argument("--token-file", type=Path, help="with --url: file holding the token")
    parser.add_argument("--retry", type=int, default=0, help="with --url: retries (same key)")
    parser.add_argument("--retry-secs", type=float, default=5.0, help="with --url: between tries")
    parser.add_argument("--timeout", type=float, default=30.0, help="with --url: per try, s")
    parser.add_argument("--host", default=None, help="host name (default: this host's short name)")
    parser.add_argument(
        "--format",
        default="json",
        choices=sorted(_EXTENSION),
        help="json (default): one JSON object; kv: key=value lines (text values only)",
    )


def parse_fields(items: list[str], fmt: str) -> dict[str, Any]:
    """``KEY=VALUE`` (text) and ``KEY:=JSON`` (typed) arguments as a dict, in order."""
    fields: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        typed = sep and key.endswith(":")
        key = key.removesuffix(":") if typed else key
        if not sep or not _KEY.match(key):
            raise UsageError(f"expected KEY=VALUE or KEY:=JSON with a plain key, got {item!r}")
        if key in _RESERVED:
            raise UsageError(f"{key!r} is set by emit itself (use --host or the EVENT argument)")
        if key in fields:
            raise UsageError(f"field {key!r} given twice")
        if typed and fmt == "kv":
            raise UsageError(f"{item!r}: typed values (:=) need --format json")
        if typed:
            try:
                fields[key] = json.loads(value)
            except ValueError as exc:
                raise UsageError(f"{item!r}: not valid JSON: {exc}") from None
        elif fmt == "kv" and ("\n" in value or "\r" in value):
            raise UsageError(f"{item!r}: a kv marker value cannot span lines")
        else:
            fields[key] = value
    return fields


def render(fields: dict[str, Any], fmt: str) -> bytes:
    """The marker's bytes: UTF-8 without BOM, LF line ends."""
    if fmt == "kv":
        return "".join(f"{key}={value}\n" for key, value in fields.items()).encode("utf-8")
    return (json.dumps(fields, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def candidates(directory: Path, host: str, event: str, ext: str) -> Iterator[Path]:
    """``host.event.ext``, then ``host.<utc stamp>-<pid>[-n].event.ext``: a unique part that
    keeps ``host`` first (``stem``) and ``.event.ext`` last, so ``*.event.json`` still matches.
    """
    yield directory / f"{host}.{event}.{ext}"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    unique = f"{stamp}-{os.getpid()}"
    yield directory / f"{host}.{unique}.{event}.{ext}"
    for counter in range(2, 10_000):
        yield directory / f"{host}.{unique}-{counter}.{event}.{ext}"


def write_atomically(data: bytes, names: Iterator[Path]) -> Path:
    """Write ``data`` under the first free name: temp file, fsync, link (never overwrites)."""
    first = next(names)
    directory = first.parent
    temp = directory / f".{first.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final = _publish(temp, first, names)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(directory)
    return final


def _publish(temp: Path, first: Path, names: Iterator[Path]) -> Path:
    for target in (first, *names):
        try:
            os.link(temp, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links (FAT, some SMB servers): rename after a check
            if target.exists():
                continue
            os.rename(temp, target)
        return target
    raise OSError(17, "no free marker name")


def _fsync_directory(directory: Path) -> None:
    """Make the new name durable too (POSIX); Windows has no directory handles to sync."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def run(args: argparse.Namespace) -> int:
    """Write ``<host>.<event>.json`` (or ``.kv``) atomically and print its path."""
    host = args.host or socket.gethostname().split(".")[0]
    try:
        for part, label in ((host, "host"), (args.event, "event")):
            if not _NAME_PART.match(part):
                raise UsageError(f"invalid {label} {part!r}: use letters, digits, _ and -")
        fields = {"host": host, "event": args.event, **parse_fields(args.fields, args.format)}
        if args.url is not None and "type" in fields:
            raise UsageError("'type' is set by emit itself (the EVENT argument)")
    except UsageError as exc:
        print(f"ruleengine emit: {exc}", file=sys.stderr)
        return 2
    if args.url is not None:
        event = {"type": args.event, **{k: v for k, v in fields.items() if k != "event"}}
        return post_event(
            args.url,
            args.token_file,
            event,
            retry=max(args.retry, 0),
            retry_secs=max(args.retry_secs, 0.0),
            timeout=args.timeout,
        )
    directory: Path = args.dir
    if not directory.is_dir():
        print(f"ruleengine emit: {directory} is not a directory", file=sys.stderr)
        return 2
    names = iter(candidates(directory, host, args.event, _EXTENSION[args.format]))
    try:
        final = write_atomically(render(fields, args.format), names)
    except OSError as exc:
        print(f"ruleengine emit: cannot write marker: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(final)
    return 0
