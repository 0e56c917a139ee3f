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

from ruleengine.config.schema import Rule, is_template
from ruleengine.config.timing import supplied_names
from ruleengine.rules.compiled import CompiledRule

#: Variables every template gets (``templates.context``).
BUILTINS = frozenset(("host", "source", "rule", "time", "text", "suppressed"))
#: Fields of a log line event (``model.Lines.event``).
LINE_FIELDS = frozenset(("line", "path", "offset"))
#: Fields of a marker event (``sources/markers/event.py``), beside its payload keys.
MARKER_FIELDS = frozenset(
    ("file", "stem", "path", "relpath", "directory", "size", "mtime", "format", "data")
)
#: Fields of every journal entry (``sources/journal/entry.py``; ``truncated`` only sometimes).
JOURNAL_FIELDS = frozenset(
    (
        "message",
        "unit",
        "priority",
        "priority_name",
        "pid",
        "hostname",
        "identifier",
        "timestamp",
        "journal",
    )
)
#: Fields of every http event (``sources/http/parse.py``), beside its posted keys.
HTTP_FIELDS = frozenset(("type", "client", "data"))
#: Fields of the event reporting a bad marker (``report_failed``: ``<name>.failed``).
FAILED_FIELDS = frozenset(("event", "marker", "reason"))
#: The fields every event of a source type carries. A type not here (or ``markers``, whose
#: payload keys are known only at run time) makes an unknown name a warning, not an error.
FIELDS = {
    "logfile": LINE_FIELDS,
    "journal": JOURNAL_FIELDS,
    "markers": MARKER_FIELDS,
    "http": HTTP_FIELDS,
}
CLOSED = frozenset(("logfile", "journal"))
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
    """Names a template (or a ``when`` expression) reads from its context, except those it
    guards itself (``x | default(…)``, ``x is defined``): those cannot fail at run time."""
    text = f"{{{{ {source} }}}}" if expression else source
    tree = env.parse(text)
    guarded = {
        node.node.name
        for node in tree.find_all((nodes.Filter, nodes.Test))
        if isinstance(node.node, nodes.Name)
        and node.name in ("default", "d", "defined", "undefined")
    }
    return set(meta.find_undeclared_variables(tree)) - set(env.globals) - guarded


def unknown_names(
    env: jinja2.Environment,
    templates: Mapping[str, Iterable[tuple[str, bool]]],
    *,
    regex: re.Pattern[str] | None,
    file: re.Pattern[str] | None,
    kinds: frozenset[str],
    digest_by: Iterable[str] = (),
    where: Iterable[str] = (),
) -> list[Unknown]:
    """Names used by ``templates`` ({key: [(source, is_expression)]}) that nothing supplies.

    ``kinds`` are the types of the rule's sources: a rule only on ``logfile`` and ``journal``
    sources gets errors, any other source kind can carry fields unknown here and gets warnings.
    """
    known = set(BUILTINS) | set(where)  # a `where:` field is there whenever the rule fires
    if file is not None and "failed" in file.pattern:  # `report_failed` events
        known |= FAILED_FIELDS
    if regex is not None:
        known |= set(regex.groupindex)
    if file is not None:
        known |= set(file.groupindex)
    lines_only = bool(kinds) and kinds <= CLOSED
    for kind in kinds:
        known |= FIELDS.get(kind, LINE_FIELDS | MARKER_FIELDS)
    found: list[Unknown] = []
    for key, sources in templates.items():
        digest = key.startswith("digest")  # the digest's own variables, whatever the source
        allowed = DIGEST_VARIABLES | set(digest_by) if digest else known
        for text, expression in sources:
            for name in sorted(used_names(env, text, expression=expression) - allowed):
                hint = difflib.get_close_matches(name, sorted(allowed), n=1)
                found.append(Unknown(key, name, hint[0] if hint else None, lines_only or digest))
    return found


def templates_of(rule: Rule) -> dict[str, list[tuple[str, bool]]]:
    """{key: [(template source, is an expression)]} of every template of a rule."""
    out: dict[str, list[tuple[str, bool]]] = {"message": [(rule.message, False)]}
    if rule.title is not None:
        out["title"] = [(rule.title, False)]
    if rule.when is not None:
        out["when"] = [(rule.when, True)]
    if rule.color is not None and is_template(rule.color):
        out["color"] = [(rule.color, False)]
    if rule.throttle is not None:
        out["throttle"] = [(rule.throttle.key, False)]
    if rule.digest is not None:
        out["digest"] = [(rule.digest.message, False)]
        if rule.digest.title is not None:
            out["digest"].append((rule.digest.title, False))
    return out


def known_tests(env: jinja2.Environment, rule: Rule) -> None:
    """Raise as Jinja would at compile time for a test it only finds missing when rendering."""
    for sources in templates_of(rule).values():
        for text, expression in sources:
            if missing := unknown_tests(env, text, expression=expression):
                raise jinja2.TemplateAssertionError(f"No test named {missing[0]!r}.", 1)


def failing_key(env: jinja2.Environment, rule: Rule) -> str:
    """The key of the first template of ``rule`` that does not compile."""
    for key, sources in templates_of(rule).items():
        for text, expression in sources:
            if unknown_tests(env, text, expression=expression):
                return key
            try:
                if expression:
                    env.compile_expression(text)
                else:
                    env.from_string(text)
            except jinja2.TemplateSyntaxError:
                return key
    return "message"


def jinja_problem(exc: jinja2.TemplateSyntaxError) -> str:
    """A template's compile error, its line inside the template when not the first."""
    line = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
    return f"template error{line}: {exc.message}"


def check_names(
    env: jinja2.Environment, rule: Rule, compiled: CompiledRule, kinds: Mapping[str, str]
) -> list[Unknown]:
    """The names ``rule``'s templates use that its source events cannot supply."""
    return unknown_names(
        env,
        templates_of(rule),
        regex=compiled.regex,
        file=compiled.file,
        kinds=frozenset(kinds.get(name, "?") for name in rule.source),
        digest_by=rule.digest.by if rule.digest is not None else (),
        where=[*rule.where, *supplied_names(rule)],
    )
