"""Matching and rendering are pure: events in, notifications out, no threads or files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.config import load_config_text
from ruleengine.model import Event
from ruleengine.render import evaluate
from ruleengine.rules.compiler import compile_rules
from ruleengine.rules.engine import RuleSet

RULES = """\
state_dir: state
defaults: {to: [a], color: yellow}
destinations:
  a: {type: console}
  b: {type: webhook, url: "http://127.0.0.1:9/hook"}
sources:
  log: {type: logfile, paths: [x.log]}
  drop: {type: markers, directory: drop}
rules:
  - name: failed
    source: log
    match: 'Package (?P<package>\\S+) install FAILED exit=(?P<code>\\d+)'
    when: "code | int != 3010"
    message: "{{ package }} failed (exit {{ code }})"
    color: red
    notify: true
    to: [a, b]
  - name: any-package
    source: log
    match: 'Package (?P<package>\\S+)'
    message: "saw {{ package }}"
  - name: rebooted
    source: drop
    file: '(?P<host>[^.]+)\\.rebooted\\.json'
    message: "{{ host }} rebooted: {{ updates | join(', ') }}"
  - name: any-json
    source: drop
    file: '*.json'
    message: "{{ file }} {{ missing_field }}"
"""


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    config = load_config_text(RULES, Path("/rules/rules.yaml"), environ={})
    return compile_rules(config.model.rules, config.model.defaults)


def line(text: str) -> Event:
    return Event(id="e1", source="log", kind="line", text=text, time=1.0, fields={"line": text})


def marker(name: str, **fields: object) -> Event:
    return Event(
        id="m1", source="drop", kind="marker", text="", time=1.0, fields={**fields, "file": name}
    )


def test_regex_groups_become_fields_and_every_matching_rule_fires(rules: RuleSet) -> None:
    out = evaluate(rules, line("installer[1]: Package 7zip install FAILED exit=1603"))
    assert [(n.rule, n.destination, n.text, n.color, n.notify) for n in out] == [
        ("failed", "a", "7zip failed (exit 1603)", "red", True),
        ("failed", "b", "7zip failed (exit 1603)", "red", True),
        ("any-package", "a", "saw 7zip", "yellow", False),
    ]
    assert out[0].fields["code"] == "1603"
    assert len({n.id for n in out}) == 3


def test_when_condition_filters(rules: RuleSet) -> None:
    out = evaluate(rules, line("Package 7zip install FAILED exit=3010"))
    assert [n.rule for n in out] == ["any-package"]


def test_ids_are_stable_for_the_same_event(rules: RuleSet) -> None:
    event = line("Package 7zip install FAILED exit=1")
    assert [n.id for n in evaluate(rules, event)] == [n.id for n in evaluate(rules, event)]


def test_marker_name_regex_and_glob(rules: RuleSet) -> None:
    out = evaluate(rules, marker("web1.rebooted.json", updates=["KB1", "KB2"]))
    assert out[0].text == "web1 rebooted: KB1, KB2"
    assert evaluate(rules, marker("notes.txt")) == []


def test_undefined_variable_is_reported_not_dropped(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    out = evaluate(rules, marker("x.json"))
    (note,) = out
    expected = "could not render message of rule any-json: 'missing_field' is undefined\n"
    assert note.text.startswith(expected)
    assert "rules.yaml" not in note.text  # chat never learns where the rules file lives
    assert "(/rules/rules.yaml:26): message: 'missing_field' is undefined" in caplog.text


def test_event_data_is_never_a_template(rules: RuleSet) -> None:
    (note,) = [n for n in evaluate(rules, line("Package {{7*7}}")) if n.rule == "any-package"]
    assert note.text == "saw {{7*7}}"


def test_sandbox_blocks_attribute_tricks() -> None:
    text = RULES.replace('"saw {{ package }}"', '"{{ package.__class__.__mro__ }}"')
    config = load_config_text(text, Path("/r.yaml"), environ={})
    rules = compile_rules(config.model.rules, config.model.defaults)
    (note,) = [n for n in evaluate(rules, line("Package x")) if n.rule == "any-package"]
    prefix = "could not render message of rule any-package: blocked by the sandbox:"
    assert note.text.startswith(prefix)
    assert "<class" not in note.text
