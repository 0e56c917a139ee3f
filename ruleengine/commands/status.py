"""``ruleengine status``: sources, lag, queues, errors and the daemon, from the state database.

Reads only (a separate read-only SQLite connection), so it is safe while the daemon runs. It needs
the rules file only to find the state database; secrets that do not resolve in this shell (the
service's environment file, say) are not needed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from ruleengine.commands.options import add_config_option
from ruleengine.config import Config, load_config
from ruleengine.errors import ConfigError
from ruleengine.escape import visible
from ruleengine.pipeline.build import source_specs
from ruleengine.redact import Redactor, destination_secrets
from ruleengine.state.report import (
    DestinationStatus,
    Report,
    SourceStatus,
    build_report,
    human_duration,
)

NAME = "status"
HELP = "show sources, lag, queues, errors and dead letters (safe while the daemon runs)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _locate(path: str) -> tuple[Path, Config | None]:
    """The state database of a rules file, even when the file's secrets do not resolve here."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        # Only state_dir matters here; read it from the YAML without validating the rest.
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raise exc from None
        state_dir = data.get("state_dir") if isinstance(data, dict) else None
        if not isinstance(state_dir, str) or "${" in state_dir:
            raise exc from None
        rules = Path(path).absolute()
        directory = Path(state_dir).expanduser()
        return (directory if directory.is_absolute() else rules.parent / directory), None
    return config.state_dir, config


def run(args: argparse.Namespace) -> int:
    state_dir, config = _locate(args.config)
    redactor = Redactor()
    if config is not None:
        redactor.add(*config.secrets, *destination_secrets(config.model.destinations))
    report = build_report(
        state_dir / "state.db",
        source_specs(config) if config is not None else None,
        list(config.model.destinations) if config is not None else [],
        redactor,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(format_text(report, time.time()))
    return 0


def format_text(report: Report, now: float) -> str:
    lines: list[str] = []
    daemon = report.daemon
    if daemon.running:
        lines.append(
            f"daemon: running, pid {daemon.pid}, up {human_duration(daemon.uptime or 0.0)}, "
            f"config {daemon.config_hash} ({daemon.reloads} reloads)"
        )
        if daemon.config_loaded is not None:
            lines.append(
                f"config loaded {_when(daemon.config_loaded, now)} from {daemon.config_path}"
            )
    elif daemon.started is not None:
        lines.append(f"daemon: not running; last started {_when(daemon.started, now)}")
    else:
        lines.append("daemon: has not run with this state database")
    lines.append(f"state: {report.state_db}")
    lines.append("sources:")
    lines += [f"  {line}" for source in report.sources for line in _source_lines(source, now)]
    if not report.sources:
        lines.append("  (none recorded)")
    lines.append("destinations:")
    lines += [f"  {line}" for dest in report.destinations for line in _destination_lines(dest, now)]
    if not report.destinations:
        lines.append("  (none)")
    # Paths, names and server replies come from outside: shown, never interpreted.
    return "\n".join(visible(line) for line in lines)


def _source_lines(source: SourceStatus, now: float) -> list[str]:
    if source.type == "markers":
        pending = "?" if source.markers_pending is None else source.markers_pending
        return [
            f"{source.name} (markers {source.directory}): {pending} waiting, "
            f"{source.markers_unmatched or 0} unmatched, {source.markers_failed or 0} failed",
            *(f"  refused: {why} (markers are not moved there)" for why in source.markers_refused),
        ]
    if source.type == "journal":
        read = (
            f"read up to the entry of {_when(source.journal_at, now)}"
            if source.journal_at is not None
            else "no entry read yet"
        )
        return [f"{source.name} (journal {source.directory}): {read}"]
    out = [f"{source.name} ({source.type}):"]
    for item in source.files:
        if item.size is None:
            out.append(f"  {item.path}: gone (last offset {item.offset})")
        elif item.offset is None:
            out.append(f"  {item.path}: {item.size} bytes, not read yet")
        else:
            out.append(
                f"  {item.path}: offset {item.offset} of {item.size} bytes, {item.behind} behind"
            )
        for older in item.rotated:
            size = "" if older.size is None else f" of {older.size} bytes"
            where = older.path or "?"
            out.append(f"    still reading rotated {where}: offset {older.offset}{size}")
    if not source.files:
        out.append("  no files yet")
    return out


def _destination_lines(dest: DestinationStatus, now: float) -> list[str]:
    head = f"{dest.name}{'' if dest.configured else ' (not in the rules file)'}: "
    head += f"{dest.pending} pending"
    if dest.oldest_pending_age is not None:
        head += f" (oldest {human_duration(dest.oldest_pending_age)})"
    head += f", {dest.dead} dead letters"
    out = [head]
    out.append(
        "  last success: " + (_when(dest.last_success, now) if dest.last_success else "never")
    )
    if dest.last_error is not None and dest.last_error_time is not None:
        out.append(f"  last error {_when(dest.last_error_time, now)}: {dest.last_error}")
    return out


def _when(epoch: float, now: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
    return f"{stamp} ({human_duration(now - epoch)} ago)"
