"""Which names a rule's templates may use, and which they use that nothing will supply.

Part of compiling rules (``compile_rules``), so ``check``, ``test``, a reload and ``run`` agree:
a log rule's fields are known at load (its regex groups and the built-in fields), so an unknown
name is an error; a marker's payload keys are known only at run time, so there it is a warning.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import jinja2
from jinja2 import meta, nodes

#: Variables every template gets (``templates.context``).
BUILTINS = frozenset(("host", "source", "rule", "time", "text", "suppressed"))
#: Fields of a log line event (``model.Lines.event``).
LINE_FIELDS = frozenset(("line", "path", "offset"))
#: Fields of a marker event (``sources/markers/event.py``), beside its payload keys.
MARKER_FIELDS = frozenset(
    ("file", "stem", "path", "relpath", "directory", "size", "mtime", "format", "data")
)
#: Variables of a digest's message and title (``render.render_digest``), beside ``by`` fields.
DIGEST_VARIABLES = frozenset(("host", "rule", "source", "time", "events", "count", "group"))


@dataclass(frozen=True)
class Unknown:
    """A name a template uses that the rule cannot supply."""

    key: str  # "message", "title", "when", "color", "throttle", "digest"
    name: str
    hint: str | None
    certain: bool  # False: payload keys may supply it at run time (a warning, not an error)

    def describe(self, rule: str) -> str:
        hint = f"; did you mean {self.hint!r}?" if self.hint else ""
        if self.certain:
            return f"{self.name!r} is undefined in rule {rule!r}{hint}"
        return (
            f"warning: {self.name!r} in rule {rule!r} is no built-in field: every event must"
            f" carry it (a marker payload key), or use data.get('{self.name}'){hint}"
        )


def unknown_tests(env: jinja2.Environment, source: str, *, expression: bool = False) -> list[str]:
    """Tests (``x is name``) a template uses that ``env`` lacks: Jinja compiles those inside an
    ``if`` and fails only when rendering, so ``check`` looks for them itself."""
    text = f"{{{{ {source} }}}}" if expression else source
    return sorted({t.name for t in env.parse(text).find_all(nodes.Test) if t.name not in env.tests})


def used_names(env: jinja2.Environment, source: str, *, expression: bool = False) -> set[str]:
    """Names a template (or a ``when`` expression) reads from its context."""
    text = f"{{{{ {source} }}}}" if expression else source
    return set(meta.find_undeclared_variables(env.parse(text))) - set(env.globals)


def unknown_names(
    env: jinja2.Environment,
    templates: Mapping[str, Iterable[tuple[str, bool]]],
    *,
    regex: re.Pattern[str] | None,
    file: re.Pattern[str] | None,
    kinds: frozenset[str],
    digest_by: Iterable[str] = (),
) -> list[Unknown]:
    """Names used by ``templates`` ({key: [(source, is_expression)]}) that nothing supplies.

    ``kinds`` are the types of the rule's sources: a rule only on ``logfile`` sources gets
    errors, any other source kind can carry fields unknown here and gets warnings.
    """
    known = set(BUILTINS)
    if regex is not None:
        known |= set(regex.groupindex)
    if file is not None:
        known |= set(file.groupindex)
    lines_only = kinds == {"logfile"} or (regex is not None and not kinds - {"logfile"})
    if lines_only:
        known |= LINE_FIELDS
    else:
        known |= LINE_FIELDS | MARKER_FIELDS
    found: list[Unknown] = []
    for key, sources in templates.items():
        digest = key.startswith("digest")  # the digest's own variables, whatever the source
        allowed = DIGEST_VARIABLES | set(digest_by) if digest else known
        for text, expression in sources:
            for name in sorted(used_names(env, text, expression=expression) - allowed):
                hint = difflib.get_close_matches(name, sorted(allowed), n=1)
                found.append(Unknown(key, name, hint[0] if hint else None, lines_only or digest))
    return found
