"""Warnings about a valid rules file: ``check`` prints them, ``run`` logs them at start."""

from __future__ import annotations

from ruleengine.config.schema import Rule, RulesFile
from ruleengine.config.yamlmarks import Path_
from ruleengine.rules.redos import nested_quantifier
from ruleengine.sandbox import over_budget


def lint(model: RulesFile) -> list[tuple[Path_, str]]:
    """Warnings for a valid rules file: what will run, but probably not as its author meant."""
    found: list[tuple[Path_, str]] = []
    for index, rule in enumerate(model.rules):
        for key in ("match", "exclude"):
            pattern = getattr(rule, key)
            if pattern is not None and nested_quantifier(pattern):
                found.append(
                    (
                        ("rules", index, key),
                        f"warning: nested quantifiers in rule '{rule.name}' can backtrack for"
                        " minutes on one non-matching line; make the inner repeat possessive"
                        " (a++) or the group atomic ((?>…)), or narrow it",
                    )
                )
        found.extend(_budget_warnings(index, rule))
    return found


def _budget_warnings(index: int, rule: Rule) -> list[tuple[Path_, str]]:
    """Templates whose constant parts alone exceed the render budget: every render fails."""
    templates: list[tuple[Path_, str | None, bool]] = [
        (("rules", index, "message"), rule.message, False),
        (("rules", index, "title"), rule.title, False),
        (("rules", index, "when"), rule.when, True),
    ]
    if rule.digest is not None:
        templates.append((("rules", index, "digest", "message"), rule.digest.message, False))
    found: list[tuple[Path_, str]] = []
    for path, source, expression in templates:
        reason = over_budget(source, expression) if source else None
        if reason is not None:
            found.append(
                (
                    path,
                    f"warning: rule '{rule.name}': {path[-1]} is over the render budget"
                    f" ({reason}); every render will fail",
                )
            )
    return found
