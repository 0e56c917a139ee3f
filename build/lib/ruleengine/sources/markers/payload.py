"""Marker payloads: bytes → text → fields. Pure functions; every refusal is a ``BadMarker``.

Accepted: UTF-8 with or without BOM, UTF-16/UTF-32 with a BOM (Windows PowerShell 5.1 writes
UTF-16 LE with a BOM), any line ending. Formats: a JSON object, a YAML mapping, ``key=value``
lines, plain text, or nothing at all.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from typing import Any, Literal

import yaml

Format = Literal["auto", "json", "yaml", "kv", "text"]
MAX_DEPTH = 32  # nesting deeper than any real marker needs; deeper is an attack or a mistake

# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0 controls other than tab, LF, VT, FF, CR (and ESC, which coloured tool output contains).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_KV_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$")
_YAML_HINT = re.compile(r"^(---|%YAML|[A-Za-z_][\w .-]*:(\s|$))")
_EXTENSIONS: dict[str, Format] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".txt": "text",
    ".log": "text",
    ".env": "kv",
    ".properties": "kv",
    ".kv": "kv",
}


class BadMarker(Exception):
    """A marker that cannot become an event; it goes to failed/ with this reason."""


def decode(raw: bytes) -> str:
    """Text of a marker, by its BOM (UTF-8 when there is none); line endings become ``\\n``."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if raw.startswith(bom):
            encoding, raw = name, raw[len(bom) :]
            break
    else:
        if b"\x00" in raw:
            raise BadMarker("binary content (NUL bytes; UTF-16 text needs a byte order mark)")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        where = f"invalid byte at offset {exc.start}"
        if encoding == "utf-8":  # most often a Windows ANSI code page: say how to fix the writer
            where += "; from Windows PowerShell 5.1 write with -Encoding UTF8 or Unicode"
        raise BadMarker(f"not {encoding.upper()} text ({where})") from None
    if found := _BINARY.search(text):
        raise BadMarker(f"binary content (control character {ord(found.group()):#04x})")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect(name: str, text: str, preferred: Format = "auto") -> Format:
    """Which format a marker is in: the source setting, then the extension, then the content."""
    if preferred != "auto":
        return preferred
    dot = name.rfind(".")
    if dot > 0 and (by_name := _EXTENSIONS.get(name[dot:].lower())):
        return by_name
    return _sniff(text)


def _sniff(text: str) -> Format:
    """Format by content: ``{`` is JSON, all ``k=v`` lines kv, ``key:`` first YAML, else text."""
    meaningful = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not meaningful:
        return "text"
    if meaningful[0].lstrip().startswith("{"):
        return "json"
    if all(_KV_LINE.match(line) for line in meaningful):
        return "kv"
    if _YAML_HINT.match(meaningful[0]):
        return "yaml"
    return "text"


def parse(text: str, name: str = "", preferred: Format = "auto") -> dict[str, Any]:
    """The fields of a decoded marker (see ``parse_payload``)."""
    return parse_payload(text, name, preferred)[1]


def parse_payload(
    text: str, name: str = "", preferred: Format = "auto"
) -> tuple[Format, dict[str, Any]]:
    """The format found and the fields of a decoded marker. Empty text is an empty payload."""
    if not text.strip():
        return "text", {"content": "", "lines": []}
    kind = detect(name, text, preferred)
    if kind == "json":
        return kind, _json(text)
    if kind == "yaml":
        return kind, _yaml(text)
    if kind == "kv":
        return kind, _kv(text)
    content = text.rstrip("\n")
    return kind, {"content": content, "lines": content.split("\n")}


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadMarker(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise BadMarker(f"nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise BadMarker(f"a JSON marker must hold an object, not {_kind(data)}")
    _check_depth(data)
    return data


class _MarkerLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (billion-laughs expansion) and deep nesting while composing.

    Refusing aliases outright is simpler and safer than counting expansions: no marker needs them.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise BadMarker("YAML aliases (*name) are not allowed in markers")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise BadMarker(f"nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml(text: str) -> dict[str, Any]:
    loader = _MarkerLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise BadMarker(f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise BadMarker(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise BadMarker(f"a YAML marker must hold a mapping, not {_kind(data)}")
    return {str(key): _plain(value) for key, value in data.items()}


def _kv(text: str) -> dict[str, Any]:
    """``key=value`` lines (values stay strings); blank lines and ``#``/``;`` comments skipped."""
    fields: dict[str, Any] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        found = _KV_LINE.match(line)
        if found is None:
            raise BadMarker(f"line {number}: expected key=value")
        value = found.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[found.group(1)] = value
    return fields


def _plain(value: Any) -> Any:
    """YAML values as JSON would give them: dates as ISO text, bytes refused, keys as text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, set):
        return sorted((_plain(item) for item in value), key=str)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        raise BadMarker("binary values (!!binary) are not allowed in markers")
    return value


def _check_depth(data: Any) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadMarker(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _kind(value: Any) -> str:
    names = {list: "a list", str: "text", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
