"""Thresholds (``count``) on an injected clock: fire at N within a window, re-arm, persist."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.config.schema import json_schema
from ruleengine.errors import ConfigError
from ruleengine.rules.counts import Counts
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import line, rules_yaml, ruleset

RULES = """
- name: logins
  source: log
  match: 'login failed from (?P<ip>\\S+)'
  message: >-
    {{ count }} failed logins from {{ ip }} ({{ first.ip }}..{{ last.ip }}, {{ events | length }})
  count: {min: 3, within: 10m, by: "{{ ip }}"}
"""


def failed(ip: str, offset: int) -> object:
    return line(f"login failed from {ip}", offset=offset)


def test_counts_pure_fire_at_minimum_then_quiet_then_rearm() -> None:
    counts = Counts()
    assert counts.add("r", "k", {"n": 1}, 0.0, 60.0, 2) is None
    assert counts.add("r", "k", {"n": 2}, 10.0, 60.0, 2) == [{"n": 1}, {"n": 2}]
    assert counts.add("r", "k", {"n": 3}, 20.0, 60.0, 2) is None  # quiet: fired 10 s ago
    assert counts.add("r", "k", {"n": 4}, 69.0, 60.0, 2) is None  # still within the window
    assert counts.add("r", "k", {"n": 5}, 70.0, 60.0, 2) is None  # re-armed: counts afresh
    assert counts.add("r", "k", {"n": 6}, 71.0, 60.0, 2) == [{"n": 5}, {"n": 6}]


def test_counts_pure_window_slides() -> None:
    counts = Counts()
    counts.add("r", "k", {"n": 1}, 0.0, 60.0, 2)
    assert counts.add("r", "k", {"n": 2}, 60.0, 60.0, 2) is None  # the first one left the window
    assert counts.add("r", "k", {"n": 3}, 61.0, 60.0, 2) == [{"n": 2}, {"n": 3}]


def test_fires_per_key_with_count_first_last_events(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, failed("1.2.3.4", 1), failed("5.6.7.8", 2))
    clock.advance(60)
    feed(engine, failed("1.2.3.4", 3))
    assert texts(store) == []
    clock.advance(60)
    feed(engine, failed("1.2.3.4", 4))
    assert texts(store) == ["3 failed logins from 1.2.3.4 (1.2.3.4..1.2.3.4, 3)"]
    store.close()


def test_rearms_after_the_window(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    for offset in range(6):  # 3 fire; the next 3 fall in the quiet window
        feed(engine, failed("ip", offset))
    assert len(texts(store)) == 1
    clock.advance(600)
    for offset in range(10, 13):
        feed(engine, failed("ip", offset))
    assert len(texts(store)) == 2
    store.close()


def test_throttle_applies_after_the_threshold(tmp_path: Path) -> None:
    rules = ruleset(RULES.replace("count: {min: 3", "throttle: {window: 1h}\n  count: {min: 3"))
    clock = Clock()
    engine, store, _ = make_engine(rules, tmp_path, clock)
    for ip in ("a", "b"):  # two keys reach the threshold; the rule's throttle lets one through
        for offset in range(3):
            feed(engine, failed(ip, offset))
    assert [t.split(" (")[0] for t in texts(store)] == ["3 failed logins from a"]
    store.close()


def test_digest_applies_after_the_threshold(tmp_path: Path) -> None:
    rules = ruleset(
        RULES.replace(
            "count: {min: 3",
            "digest: {wait: 5m, message: '{% for e in events %}{{ e.ip }}={{ e.count }} "
            "{% endfor %}'}\n  count: {min: 3",
        )
    )
    clock = Clock()
    engine, store, _ = make_engine(rules, tmp_path, clock)
    for ip in ("a", "b"):
        for offset in range(3):
            feed(engine, failed(ip, offset))
    assert texts(store) == []
    clock.advance(300)
    engine.flush_due()
    assert texts(store) == ["a=3 b=3 "]
    store.close()


def test_windows_survive_restart_and_reload_by_name(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, failed("ip", 1), failed("ip", 2))
    store.close()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)  # a new process
    engine.swap_rules(ruleset(RULES.replace("failed logins", "bad logins")))  # same name
    feed(engine, failed("ip", 3))
    assert texts(store) == ["3 bad logins from ip (ip..ip, 3)"]
    feed(engine, failed("ip", 4), failed("ip", 5))
    engine.swap_rules(ruleset(RULES.replace("name: logins", "name: renamed")))
    feed(engine, failed("ip", 6), failed("ip", 7))  # a new name starts from nothing
    assert len(texts(store)) == 1
    store.close()


@pytest.mark.parametrize(
    ("count", "problem"),
    [
        ("{min: 0, within: 1m}", "rules[0].count.min: Input should be greater"),
        ("{min: 3, within: 0s}", "rules[0].count.within: within must be longer than 0s"),
        ("{min: 3, within: 1m, by: '{{ x'}", "rules[0].count.by: template syntax error"),
        ("{min: 3}", "rules[0].count.within"),
    ],
)
def test_check_rejects_bad_count(count: str, problem: str) -> None:
    text = rules_yaml(f"- {{name: r, source: log, message: m, count: {count}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_schema_has_count() -> None:
    assert "count" in json_schema()["$defs"]["Rule"]["properties"]
