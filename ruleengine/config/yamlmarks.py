"""Load YAML while remembering the line of every key, so errors can say file:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class MarkedYaml:
    """Parsed YAML data plus the 1-based line of each key path, and structural problems."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[tuple[Path_, str]] = field(default_factory=list)

    def line_of(self, path: Path_) -> int | None:
        """Line of the deepest known prefix of ``path`` (a missing key points at its parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


MAX_NODES = 100_000  # a rules file is small; more means alias expansion ("billion laughs")


class StructureError(ValueError):
    """The YAML is well-formed but unusable as data (recursive or exploding aliases)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


# libyaml where PyYAML was built with it (every wheel): one parse, in C.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_marked(text: str) -> MarkedYaml:
    """Parse ``text`` once; raises ``yaml.YAMLError`` (with a mark) or ``StructureError``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_structure(node)  # before constructing: a "billion laughs" never expands
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    marked = MarkedYaml(data=data)
    if node is not None:
        _walk(node, (), marked, set())
    return marked


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_structure(root: yaml.Node) -> None:
    """Reject alias cycles and documents whose aliases expand past MAX_NODES."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise StructureError(node.start_mark.line + 1, "recursive YAML alias")
        on_path.add(key)
        total = 1
        for child in _children(node):
            total += size(child)
            if total > MAX_NODES:
                raise StructureError(
                    node.start_mark.line + 1,
                    f"document expands to more than {MAX_NODES} values (alias expansion?)",
                )
        on_path.discard(key)
        sizes[key] = total
        return total

    size(root)


def _walk(node: yaml.Node, path: Path_, out: MarkedYaml, seen: set[int]) -> None:
    if id(node) in seen:  # aliases may point back at a node already walked
        return
    seen.add(id(node))
    out.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        keys_seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in keys_seen:
                out.problems.append((child, f"duplicate key {key!r}"))
            keys_seen.add(key)
            out.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out, seen)
