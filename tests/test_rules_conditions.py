"""Table-driven selection tests, one table per condition type."""

from __future__ import annotations

from typing import Any

import pytest

from ruleengine.rules.conditions import compile_where, equals, holds
from tests.support.rulekit import fired_names, line, marker, ruleset


@pytest.mark.parametrize(
    ("rule", "text", "fields"),
    [
        ("match: 'FAILED exit=(?P<code>\\d+)'", "pkg FAILED exit=5", {"code": "5"}),
        ("match: 'FAILED exit=(?P<code>\\d+)'", "pkg OK", None),
        ("match: '^start'", "start here", {}),
        ("match: '^start'", "not start", None),
        ("match: '(?P<a>x)?y'", "y", {}),  # unmatched optional groups are not fields
        ("match: 'ERROR', exclude: 'harmless'", "ERROR disk", {}),
        ("match: 'ERROR', exclude: 'harmless'", "ERROR harmless", None),
        ("match: '(?i)error'", "Error", {}),
        ("match: 'code=(?P<code>\\d+)', where: {code: [1, 2]}", "code=2", {"code": "2"}),
        ("match: 'code=(?P<code>\\d+)', where: {code: [1, 2]}", "code=3", None),
        ("{}", "anything at all", {}),
    ],
)
def test_line_selection(rule: str, text: str, fields: dict[str, str] | None) -> None:
    extra = "" if rule == "{}" else ", " + rule
    rules = ruleset(f"- {{name: r, source: log, message: m{extra}}}\n")
    chosen = rules.selections([line(text)])[0]
    assert (chosen[0][1] if chosen else None) == fields


@pytest.mark.parametrize(
    ("rule", "name", "data", "selected"),
    [
        ("file: '*.rebooted.json'", "web1.rebooted.json", {}, True),
        ("file: '*.rebooted.json'", "web1.installed.json", {}, False),
        ("file: '(?P<host>[^.]+)\\.done'", "web1.done", {}, True),
        ("where: {status: failed}", "x.json", {"status": "failed"}, True),
        ("where: {status: failed}", "x.json", {"status": "ok"}, False),
        ("where: {status: failed}", "x.json", {}, False),
        ("where: {status: [failed, error]}", "x.json", {"status": "error"}, True),
        ("where: {code: 3010}", "x.json", {"code": "3010"}, True),
        ("where: {code: '3010'}", "x.json", {"code": 3010}, True),
        ("where: {code: 3010}", "x.json", {"code": 3010.0}, True),
        ("where: {code: 3010}", "x.json", {"code": "3010x"}, False),
        ("where: {ok: true}", "x.json", {"ok": "true"}, True),
        ("where: {ok: true}", "x.json", {"ok": 1}, False),
        ("where: {reboot: null}", "x.json", {}, True),
        ("where: {updates: KB1}", "x.json", {"updates": ["KB0", "KB1"]}, True),
        ("file: '*.json', where: {status: failed}", "x.txt", {"status": "failed"}, False),
    ],
)
def test_marker_selection(rule: str, name: str, data: dict[str, Any], selected: bool) -> None:
    rules = ruleset(f"- {{name: r, source: drops, message: m, {rule}}}\n")
    assert bool(rules.selections([marker(name, **data)])[0]) is selected


def test_file_pattern_named_groups_become_fields() -> None:
    rules = ruleset("- {name: r, source: drops, file: '(?P<host>[^.]+)\\.done', message: m}\n")
    assert rules.selections([marker("web1.done")])[0][0][1] == {"host": "web1"}


@pytest.mark.parametrize(
    ("when", "text", "fires"),
    [
        ("code | int != 3010", "exit=5", True),
        ("code | int != 3010", "exit=3010", False),
        ("code in ['1', '2']", "exit=2", True),
        ("missing_variable > 1", "exit=1", False),  # an error: logged, the rule does not fire
    ],
)
def test_when(when: str, text: str, fires: bool) -> None:
    rules = ruleset(
        f"- {{name: r, source: log, match: 'exit=(?P<code>\\d+)', when: \"{when}\", message: m}}\n"
    )
    assert fired_names(rules, line(text)) == (["r"] if fires else [])


def test_every_matching_rule_fires_until_stop() -> None:
    rules = ruleset(
        """
        - {name: first, source: log, match: 'disk', message: m}
        - {name: stopper, source: log, match: 'disk full', stop: true, message: m}
        - {name: after, source: log, match: 'disk', message: m}
        - {name: other-source, source: log2, match: 'disk', message: m}
        """
    )
    assert fired_names(rules, line("disk almost full")) == ["first", "after"]
    assert fired_names(rules, line("disk full")) == ["first", "stopper"]
    assert fired_names(rules, line("disk full", source="log2")) == ["other-source"]


def test_stop_only_when_the_rule_fires() -> None:
    rules = ruleset(
        """
        - {name: s, source: log, match: 'x=(?P<v>\\d)', when: "v == '1'", stop: true, message: m}
        - {name: t, source: log, match: 'x', message: m}
        """
    )
    assert fired_names(rules, line("x=2")) == ["t"]
    assert fired_names(rules, line("x=1")) == ["s"]


def test_several_sources() -> None:
    rules = ruleset("- {name: r, source: [log, log2], match: 'x', message: m}\n")
    assert fired_names(rules, line("x", source="log2")) == ["r"]
    assert fired_names(rules, line("x", source="other")) == []


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        ("a", "a", True),
        ("A", "a", False),
        (1, True, False),
        ("FALSE", False, True),
        (None, None, True),
    ],
)
def test_equals(actual: Any, expected: Any, result: bool) -> None:
    assert equals(actual, expected) is result


def test_holds_needs_every_condition() -> None:
    where = compile_where({"a": 1, "b": ["x", "y"]})
    assert holds(where, {"a": "1", "b": "y"})
    assert not holds(where, {"a": "1", "b": "z"})
