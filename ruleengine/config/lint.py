"""Warnings about a valid rules file: ``check`` prints them, ``run`` logs them at start."""

from __future__ import annotations

import ipaddress

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
    for name, source in model.sources.items():
        if source.type == "http" and source.tls is None and not _loopback(source.address):
            found.append(
                (
                    ("sources", name, "address"),
                    f"warning: http source '{name}' listens on {source.address} without `tls`:"
                    " bearer tokens and events cross the network in clear text",
                )
            )
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


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
