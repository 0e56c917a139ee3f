"""Cross-references in a rules file that pydantic cannot see: undefined destination and source
names (with a "did you mean"), fallback loops, duplicate rule names, selectors that do not fit
their source, and the time-aware rules' references (``resolves``, schedules)."""

from __future__ import annotations

import difflib
from typing import Any

from ruleengine.config.schedules import schedule_problems
from ruleengine.config.timing import resolve_problems
from ruleengine.config.yamlmarks import Path_


def _section(data: Any, key: str, kind: type) -> Any:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, kind) else kind()


def reference_problems(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Cross-references pydantic cannot see: undefined names, fallback loops, rule/source fit."""
    problems: list[tuple[Path_, str]] = []
    destinations: dict[str, Any] = _section(data, "destinations", dict)
    sources: dict[str, Any] = _section(data, "sources", dict)
    defaults: dict[str, Any] = _section(data, "defaults", dict)
    problems += _undefined_names(
        defaults.get("to"), ("defaults", "to"), "destination", destinations
    )
    for name, dest in destinations.items():
        if isinstance(dest, dict) and isinstance(dest.get("fallback"), str):
            where: Path_ = ("destinations", name, "fallback")
            problems += _undefined_names(dest["fallback"], where, "destination", destinations)
            if _fallback_loops(name, destinations):
                problems.append((where, "fallback chain loops back to " + name))
    names_seen: set[str] = set()
    for index, rule in enumerate(_section(data, "rules", list)):
        if not isinstance(rule, dict):
            continue
        here: Path_ = ("rules", index)
        rule_name = rule.get("name")
        if isinstance(rule_name, str):
            if rule_name in names_seen:
                problems.append(((*here, "name"), f"duplicate rule name {rule_name!r}"))
            names_seen.add(rule_name)
        if "to" in rule:
            problems += _undefined_names(rule["to"], (*here, "to"), "destination", destinations)
        elif not defaults.get("to"):
            problems.append((here, "no destination: set `to` here or `defaults.to`"))
        problems += _undefined_names(rule.get("source"), (*here, "source"), "source", sources)
        problems += _selector_fit(rule, here, sources)
    problems += resolve_problems(_section(data, "rules", list), names_seen)
    problems += schedule_problems(data)
    return problems


def _names(value: Any, path: Path_) -> list[tuple[Path_, str]]:
    """(key path, name) for a ``name`` or ``[name, …]`` value."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [((*path, i), item) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def _undefined_names(
    value: Any, path: Path_, what: str, known: dict[str, Any]
) -> list[tuple[Path_, str]]:
    return [
        (where, _undefined(what, name, known))
        for where, name in _names(value, path)
        if name not in known
    ]


def _selector_fit(
    rule: dict[str, Any], here: Path_, sources: dict[str, Any]
) -> list[tuple[Path_, str]]:
    """``match`` selects log lines, ``file`` markers, ``type`` http events: each needs the
    right source."""
    problems: list[tuple[Path_, str]] = []
    for _where, name in _names(rule.get("source"), (*here, "source")):
        source = sources.get(name)
        kind = source.get("type") if isinstance(source, dict) else None
        wanted = _SELECTORS.get(kind) if isinstance(kind, str) else None
        for key in ("match", "exclude", "file", "type"):
            if wanted is not None and key in rule and key not in wanted[1]:
                problems.append(
                    (
                        (*here, key),
                        f"source {name!r} is {wanted[0]}, not `{key}`",
                    )
                )
    return problems


# Per source type: how its rules select, and the selector keys that fit it.
_SELECTORS = {
    "logfile": ("a logfile source: select lines with `match`", ("match", "exclude")),
    "journal": ("a journal source: select lines with `match`", ("match", "exclude")),
    "markers": ("a markers source: select markers with `file` and `where`", ("file",)),
    "http": ("an http source: select events with `type` and `where`", ("type",)),
}


def _undefined(what: str, name: str, known: dict[str, Any]) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    suffix = (
        f"; did you mean {hint[0]!r}?"
        if hint
        else (f"; defined: {', '.join(known)}" if known else "")
    )
    return f"undefined {what} {name!r}{suffix}"


def _fallback_loops(start: str, destinations: dict[str, Any]) -> bool:
    seen = {start}
    current = destinations.get(start)
    while isinstance(current, dict) and isinstance(current.get("fallback"), str):
        name = current["fallback"]
        if name in seen:
            return True
        seen.add(name)
        current = destinations.get(name)
    return False
