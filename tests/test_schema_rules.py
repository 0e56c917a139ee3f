"""The committed rules.schema.json is generated from the model; rule problems name file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.config.schema import json_schema
from ruleengine.errors import ConfigError
from tests.support.rulekit import rules_yaml

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_model() -> None:
    committed = json.loads((ROOT / "rules.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "rules.schema.json is stale: regenerate it with `ruleengine schema > rules.schema.json`"
    )


def test_example_rules_reference_the_schema() -> None:
    first = (ROOT / "rules.example.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./rules.schema.json"


def test_schema_describes_rule_keys() -> None:
    rule = json_schema()["$defs"]["Rule"]["properties"]
    for key in (
        "match",
        "exclude",
        "file",
        "where",
        "when",
        "stop",
        "throttle",
        "digest",
        "format",
    ):
        assert key in rule


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("match: '(unclosed'", "rules[0].match: invalid regular expression"),
        ("exclude: '[x'", "rules[0].exclude: invalid regular expression"),
        ("throttle: {window: 0s}", "rules[0].throttle.window: window must be longer than 0s"),
        ("throttle: {key: '{{ x', window: 1m}", "rules[0].throttle.key: template syntax error"),
        ("digest: {wait: 1m, max: 0}", "rules[0].digest.max: Input should be greater"),
        (
            "digest: {wait: 1m}, throttle: {window: 1m}",
            "rules[0]: use either `throttle` or `digest`",
        ),
        ("format: html", "rules[0].format: Input should be 'text' or 'markdown'"),
        ("stopp: true", "rules[0].stopp: unknown key 'stopp' (did you mean 'stop'?)"),
        ("where: {a: {b: 1}}", "rules[0].where.a"),
    ],
)
def test_rule_problems_have_line_and_key(rule: str, problem: str) -> None:
    text = rules_yaml(f"- {{name: r, source: log, message: m, {rule}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(p.startswith("/r/rules.yaml:9: ") and problem in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_exclude_on_markers_source_is_rejected() -> None:
    text = rules_yaml("- {name: r, source: drops, exclude: x, message: m}\n")
    with pytest.raises(ConfigError, match="markers source: select markers with `file`"):
        load_config_text(text, Path("/r/rules.yaml"))
