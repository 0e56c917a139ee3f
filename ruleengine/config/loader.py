"""From a path to a validated ``Config``, or a ``ConfigError`` listing file:line: key: problem."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic_core import ErrorDetails

from ruleengine.config import sections
from ruleengine.config.interpolate import interpolate
from ruleengine.config.lint import lint
from ruleengine.config.references import reference_problems
from ruleengine.config.schema import Rule, RulesFile
from ruleengine.config.yamlmarks import MarkedYaml, Path_, StructureError, load_marked
from ruleengine.errors import ConfigError

MAX_RULES_FILE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """A validated rules file, where it came from, and the secret values it interpolated."""

    model: RulesFile
    path: Path
    secrets: frozenset[str] = field(default_factory=frozenset)
    warnings: tuple[str, ...] = ()  # "file:line: key: warning: …", valid but probably unintended
    #: Destinations whose secrets did not resolve (loaded with ``lazy_secrets``): name → problems.
    unresolved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def require(self, names: Iterable[str]) -> None:
        """ConfigError listing the missing secrets of the destinations a command will use."""
        problems = [p for name in dict.fromkeys(names) for p in self.unresolved.get(name, ())]
        if problems:
            raise ConfigError(problems)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """Paths in the rules file are relative to the file itself, not to the working dir."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def state_dir(self) -> Path:
        return self.resolve(self.model.state_dir)


def load_config(
    path: str | Path, environ: Mapping[str, str] | None = None, *, lazy_secrets: bool = False
) -> Config:
    """Read and validate ``path``; raises ConfigError with every problem found.

    With ``lazy_secrets``, a destination's secret that does not resolve is no error here: the
    destination is listed in ``Config.unresolved`` and a command that uses it calls
    ``Config.require`` (``test``, ``status``, ``dead`` and ``send --to`` need only theirs).
    """
    file = Path(path)
    try:
        if file.stat().st_size > MAX_RULES_FILE:
            raise ConfigError([f"{file}: larger than {MAX_RULES_FILE} bytes; is it a rules file?"])
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read rules file: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{file}: not UTF-8 text (byte {exc.start})"]) from None
    return load_config_text(text, file.absolute(), environ, lazy_secrets=lazy_secrets)


def load_config_text(
    text: str, path: Path, environ: Mapping[str, str] | None = None, *, lazy_secrets: bool = False
) -> Config:
    """Validate rules given as text; ``path`` names them in errors and anchors relative paths."""
    try:
        return _load_config_text(text, path, environ, lazy_secrets)
    except RecursionError:  # PyYAML and the validators recurse per nesting level
        raise ConfigError([f"{path}:1: nested too deeply to be a rules file"]) from None


def _load_config_text(
    text: str, path: Path, environ: Mapping[str, str] | None, lazy_secrets: bool
) -> Config:
    try:
        marked = load_marked(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    except StructureError as exc:
        raise ConfigError([f"{path}:{exc.line}: {exc}"]) from None
    if not isinstance(marked.data, dict):
        raise ConfigError(
            [f"{path}:1: expected a mapping with state_dir, destinations, sources and rules"]
        )

    data, secrets, missing = interpolate(marked.data, base_dir=path.parent, environ=environ)
    deferred: dict[str, list[tuple[Path_, str]]] = {}
    if lazy_secrets:
        for item in missing:
            if len(item[0]) > 1 and item[0][0] == "destinations":
                deferred.setdefault(str(item[0][1]), []).append(item)
    problems = [*marked.problems, *(p for p in missing if not _in(p, deferred))]
    model, errors = sections.validate(data)
    if errors:
        # A value that failed to interpolate is already reported; don't also call it invalid.
        unresolved = {key_path for key_path, _ in (*marked.problems, *missing)}
        problems.extend(p for p in _pydantic_problems(errors, data) if p[0] not in unresolved)
    problems.extend(reference_problems(data))
    if problems:
        raise ConfigError(_format(problems, marked, path))
    assert model is not None  # noqa: S101 - no problems means validation succeeded
    for index, rule in enumerate(model.rules):
        rule._origin = f"{path}:{marked.line_of(('rules', index)) or 1}"
        for key in type(rule).model_fields:
            if (line := marked.line_of(("rules", index, key))) is not None:
                rule._key_lines[key] = line
    warnings = _format(lint(model), marked, path)
    return Config(
        model=model,
        path=path,
        secrets=frozenset(secrets),
        warnings=tuple(warnings),
        unresolved={name: tuple(_format(found, marked, path)) for name, found in deferred.items()},
    )


def _in(problem: tuple[Path_, str], deferred: Mapping[str, Any]) -> bool:
    return len(problem[0]) > 1 and problem[0][0] == "destinations" and problem[0][1] in deferred


def _format(problems: list[tuple[Path_, str]], marked: MarkedYaml, path: Path) -> list[str]:
    seen: set[tuple[Path_, str]] = set()
    lines: list[tuple[int, str]] = []
    for key_path, message in problems:
        if (key_path, message) in seen:
            continue
        seen.add((key_path, message))
        line = marked.line_of(key_path) or 1
        dotted = _dotted(key_path)
        lines.append((line, f"{path}:{line}: {dotted + ': ' if dotted else ''}{message}"))
    return [text for _, text in sorted(lines, key=lambda item: item[0])]


def _dotted(key_path: Path_) -> str:
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        # A blank key, or one with spaces at its ends, is quoted so the message shows it.
        name = str(part) if str(part).strip() == str(part) and str(part) else repr(part)
        out += f".{name}" if out else name
    return out


def _pydantic_problems(errors: Iterable[ErrorDetails], data: Any) -> list[tuple[Path_, str]]:
    problems = []
    for error in errors:
        key_path = _data_path(error["loc"], data)
        problems.append((key_path, _message(error, key_path, data)))
    return problems


def _data_path(loc: tuple[str | int, ...], data: Any) -> Path_:
    """Drop pydantic's union tags (``('destinations', 'x', 'webhook', 'url')``) from a loc."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
            elif node.get("type") == part:
                continue
            else:
                path.append(part)
                node = None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        else:
            if isinstance(part, str) and part.startswith(("function-", "list[", "str")):
                continue
            path.append(part)
            node = None
    return tuple(path)


def _message(error: Any, key_path: Path_, data: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(key_path[-1]) if key_path else "?"
        known = _known_keys(key_path[:-1], data)
        hint = difflib.get_close_matches(key, known, n=1)
        expected = f"did you mean {hint[0]!r}?" if hint else f"expected one of: {', '.join(known)}"
        return f"unknown key {key!r} ({expected})" if known else f"unknown key {key!r}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        section = key_path[0] if key_path else ""
        choices = ", ".join(sections.TYPES.get(str(section), {}))
        if kind == "union_tag_not_found":
            return f"missing 'type' (expected one of: {choices})"
        return f"unknown type {error['ctx']['tag']!r} (expected one of: {choices})"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _known_keys(key_path: Path_, data: Any) -> list[str]:
    """Field names of the model found at ``key_path`` (for 'did you mean')."""
    model: Any = RulesFile
    node = data
    index = 0
    while index < len(key_path):
        part = key_path[index]
        node = node.get(part) if isinstance(node, dict) else None
        if model is RulesFile and part in sections.TYPES and index + 1 < len(key_path):
            name = key_path[index + 1]
            node = node.get(name) if isinstance(node, dict) else None
            kind = node.get("type") if isinstance(node, dict) else None
            model = sections.TYPES[str(part)].get(str(kind))
            if model is None:
                return []
            index += 2
            continue
        if model is RulesFile and part == "rules":
            model = Rule
            index += 2  # skip the list index
            node = None
            continue
        field_info = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(field_info, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)):
            return []
        model = annotation
        index += 1
    return sorted(getattr(model, "model_fields", {}))
