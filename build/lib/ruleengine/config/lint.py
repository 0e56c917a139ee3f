"""Warnings about a valid rules file: ``check`` prints them, ``run`` logs them at start."""

from __future__ import annotations

from ruleengine.config.schema import RulesFile
from ruleengine.config.yamlmarks import Path_
from ruleengine.rules.redos import nested_quantifier


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
    return found
