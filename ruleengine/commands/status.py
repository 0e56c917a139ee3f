"""``ruleengine status``: sources, lag, queues, errors and the daemon, from the state database.

Reads only (a separate read-only SQLite connection), so it is safe while the daemon runs. It needs
the rules file only to find the state database; secrets that do not resolve in this shell (the
service's environment file, say) are not needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import yaml

from ruleengine.commands.options import add_config_option
from ruleengine.commands.silence import as_json as silence_json
from ruleengine.commands.silence import silence_lines
from ruleengine.config import Config, load_config
from ruleengine.errors import ConfigError
from ruleengine.escape import visible
from ruleengine.pipeline.build import file_hash, source_specs
from ruleengine.redact import Redactor, destination_secrets
from ruleengine.rules.compiler import compile_model
from ruleengine.state.drops import Dropped
from ruleengine.state.drops import listing as drop_listing
from ruleengine.state.report import (
    DestinationStatus,
    Report,
    SourceStatus,
    build_report,
    human_duration,
)
from ruleengine.state.silences import open_silences
from ruleengine.words import plural

HELP = "show sources, lag, queues, errors and dead letters (safe while the daemon runs)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--state-dir", type=Path, help="the state directory (when the rules file cannot tell)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _locate(path: str, state_dir: Path | None) -> tuple[Path, Config | None, list[str]]:
    """The state database of a rules file, even when the file's secrets do not resolve here or
    the file is broken (its problems are then reported, not fatal: the daemon keeps running)."""
    try:
        config = load_config(path, lazy_secrets=True)
    except ConfigError as exc:
        if state_dir is not None:
            return state_dir, None, exc.problems
        # Only state_dir matters here; read it from the YAML without validating the rest.
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raise exc from None
        found = data.get("state_dir") if isinstance(data, dict) else None
        if not isinstance(found, str) or "${" in found:
            raise exc from None
        rules = Path(path).absolute()
        directory = Path(found).expanduser()
        located = directory if directory.is_absolute() else rules.parent / directory
        return located, None, exc.problems
    try:
        compile_model(config.model)  # what a reload would reject, status reports
    except ConfigError as exc:
        return state_dir or config.state_dir, config, exc.problems
    return state_dir or config.state_dir, config, []


def run(args: argparse.Namespace) -> int:
    state_dir, config, problems = _locate(args.config, args.state_dir)
    redactor = Redactor()
    if config is not None:
        redactor.add(*config.secrets, *destination_secrets(config.model.destinations))
    report = build_report(
        state_dir / "state.db",
        source_specs(config) if config is not None else None,
        list(config.model.destinations) if config is not None else [],
        redactor,
    )
    disk = _rules_file(Path(args.config), report, problems)
    disk["disabled_rules"] = (
        [rule.name for rule in config.model.rules if not rule.enabled] if config else []
    )
    now = time.time()
    silenced = open_silences(state_dir / "state.db")
    dropped = drop_listing(state_dir / "state.db")
    if args.json:
        silences = [silence_json(s, now) for s in silenced]
        drops = [dataclasses.asdict(d) for d in dropped]
        out = {**report.to_json(), "rules_file": disk, "silences": silences, "drops": drops}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(format_text(report, now, disk))
        if silenced:
            print("\n".join(["silences:", *(f"  {s}" for s in silence_lines(silenced, now))]))
        if dropped:
            print("\n".join(_drop_lines(dropped, now)))
    return 0


def _drop_lines(dropped: list[Dropped], now: float) -> list[str]:
    lines = ["dropped outside their schedule (see `ruleengine history --dropped`):"]
    for item in dropped:
        count = plural(item.dropped, "notification" if item.kind == "destination" else "event")
        lines.append(f"  {item.kind} {visible(item.name)}: {count}, last {_when(item.last, now)}")
    return lines


def _rules_file(path: Path, report: Report, problems: list[str]) -> dict[str, object]:
    """The rules file on disk beside what the daemon runs: changed since? broken?"""
    on_disk = file_hash(path)
    daemon = report.daemon
    same_file = daemon.config_path in (None, str(path.absolute()))
    return {
        "path": str(path),
        "hash": on_disk,
        "differs_from_running": bool(
            daemon.running and same_file and on_disk and on_disk != daemon.config_hash
        ),
        "problems": problems,
    }


def format_text(report: Report, now: float, disk: dict[str, object] | None = None) -> str:
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
    lines += _reload_lines(report, now, disk or {})
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


def _reload_lines(report: Report, now: float, disk: dict[str, object]) -> list[str]:
    daemon, out = report.daemon, []
    if daemon.running and daemon.reload_time is not None:
        result = "ok" if daemon.reload_ok else "FAILED, still running the previous config"
        out.append(f"last reload {_when(daemon.reload_time, now)}: {result}")
        if not daemon.reload_ok:
            out += [f"  {error}" for error in daemon.reload_errors]
    if disk.get("differs_from_running"):
        out.append(f"rules file {disk['path']} differs from the running config")
    disabled = disk.get("disabled_rules")
    if isinstance(disabled, list) and disabled:
        out.append(f"disabled rules (enabled: false): {', '.join(disabled)}")
    problems = disk.get("problems")
    if isinstance(problems, list) and problems:
        out.append(f"rules file {disk['path']} has {plural(len(problems), 'problem')}:")
        out += [f"  {problem}" for problem in problems]
    return out


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
    if source.type == "http":
        return [f"{source.name} (http {source.directory or '?'}): {_http_figures(source, now)}"]
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


def _http_figures(source: SourceStatus, now: float) -> str:
    figures = source.http
    if figures is None:
        return "no requests recorded yet"
    rejected = sum(figures.rejected.values())
    by_status = ", ".join(f"{status}: {n}" for status, n in sorted(figures.rejected.items()))
    return (
        f"since {_when(figures.since, now)}: {plural(figures.requests, 'request')} accepted "
        f"({plural(figures.events, 'event')} stored, {plural(figures.duplicates, 'duplicate')}), "
        f"{rejected} rejected" + (f" ({by_status})" if by_status else "")
    )


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
    elif dest.recovered_error is not None:
        out.append(f"  recovered from: {dest.recovered_error}")
    if dest.dropping_since is not None:
        out.append(
            f"  queue full: {dest.dropped} notifications dropped since "
            f"{_when(dest.dropping_since, now)} (a summary follows when it recovers)"
        )
    return out


def _when(epoch: float, now: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
    return f"{stamp} ({human_duration(now - epoch)} ago)"
