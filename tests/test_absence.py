"""Absence (``expect``) on an injected clock: deadlines, back notices, restarts, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.config.loader import load_config_text
from ruleengine.errors import ConfigError
from ruleengine.rules.absence import Absences, Spec
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import line, rules_yaml, ruleset

HOUR = 3600.0
RULES = """
- name: patched
  source: log
  match: '(?P<host>\\S+) patch run OK'
  message: "{{ host }} has not patched for {{ overdue | duration }} past its day"
  expect: {every: 24h, grace: 30m, by: "{{ host }}"}
"""


def ok(host: str, offset: int) -> object:
    return line(f"{host} patch run OK", offset=offset)


def test_pure_deadline_once_then_back() -> None:
    absences = Absences()
    spec = {"r": Spec(every=10.0, grace=5.0)}
    assert absences.seen("r", "k", 0.0) is None
    assert absences.due(spec, 14.9) == []
    (missing,) = absences.due(spec, 15.0)
    assert (missing.key, missing.deadline, missing.late) == ("k", 15.0, False)
    assert absences.due(spec, 100.0) == []  # reported once
    assert absences.next_due(spec) is None
    back = absences.seen("r", "k", 120.0)
    assert back is not None and back.missing_since == 15.0
    assert absences.next_due(spec) == 135.0


def test_missing_alert_then_back_notice(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, ok("web1", 1), ok("web2", 2))
    assert texts(store) == []  # heartbeats send nothing
    clock.advance(20 * HOUR)
    feed(engine, ok("web2", 3))
    clock.advance(4.5 * HOUR)  # web1: 24h30m since its last run
    engine.flush_due()
    assert texts(store) == ["web1 has not patched for 30m past its day"]
    clock.advance(HOUR)
    engine.flush_due()
    assert len(texts(store)) == 1  # one alert per absence
    feed(engine, ok("web1", 4))
    assert texts(store)[1] == "web1 is back after 1h 30m missing"
    store.close()


def test_fixed_keys_are_expected_before_any_event(tmp_path: Path) -> None:
    rules = RULES.replace('by: "{{ host }}"', 'by: "{{ host }}", keys: [db1]')
    clock = Clock()
    engine, store, _ = make_engine(ruleset(rules), tmp_path, clock)
    clock.advance(24.5 * HOUR)
    engine.flush_due()
    assert texts(store) == ["db1 has not patched for 30m past its day"]
    store.close()


def test_restart_keeps_deadlines_and_says_the_daemon_was_down(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, ok("web1", 1))
    engine.flush_due()  # the engine saves that it is alive
    store.close()  # "kill -9": nothing runs for two days
    clock.advance(48 * HOUR)
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    engine.flush_due()
    (alert,) = texts(store)
    assert alert.startswith("web1 has not patched for 1d past its day")
    assert "(late: ruleengine was not running after" in alert
    store.close()


def test_restart_does_not_reset_a_deadline(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, ok("web1", 1))
    store.close()
    clock.advance(20 * HOUR)
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    clock.advance(4.5 * HOUR)  # the original deadline, not restart + 24h30m
    engine.flush_due()
    assert texts(store) == ["web1 has not patched for 30m past its day"]  # not late: we ran
    store.close()


def test_absences_go_through_digest(tmp_path: Path) -> None:
    rules = RULES.replace(
        "expect:", "digest: {wait: 1m, message: '{{ count }} hosts missing'}\n  expect:"
    )
    clock = Clock()
    engine, store, _ = make_engine(ruleset(rules), tmp_path, clock)
    feed(engine, ok("a", 1), ok("b", 2), ok("c", 3))
    clock.advance(24.5 * HOUR)
    engine.flush_due()
    clock.advance(60)
    engine.flush_due()
    assert texts(store) == ["3 hosts missing"]
    store.close()


def test_cli_lists_and_forgets_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules_yaml(RULES, state=str(tmp_path / "state")), encoding="utf-8")
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path / "state", clock)
    feed(engine, ok("web1", 1), ok("web2", 2))
    assert main(["expect", "list", "-c", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(i["rule"], i["key"], i["missing"]) for i in listed] == [
        ("patched", "web1", False),
        ("patched", "web2", False),
    ]
    assert main(["expect", "forget", "-c", str(path), "patched", "web1"]) == 0
    assert "forgot 1 key of patched" in capsys.readouterr().out
    clock.advance(25 * HOUR)
    engine.flush_due()  # the engine re-read the keys: only web2 is still expected
    assert texts(store) == ["web2 has not patched for 1h past its day"]
    assert main(["expect", "list", "-c", str(path)]) == 0
    shown = capsys.readouterr().out  # ages are from the real clock, the engine's is fake
    assert shown.startswith("patched  web2  last seen ") and shown.endswith("  MISSING\n")
    store.close()


@pytest.mark.parametrize(
    ("expect", "problem"),
    [
        ("{every: 0s}", "rules[0].expect.every: every must be longer than 0s"),
        ("{every: 1h, keys: [a]}", "`keys` needs `by`"),
        ("{every: 1h, back: '{{ x'}", "rules[0].expect.back: template syntax error"),
        ("{every: 1h}, count: {min: 2, within: 1m}", "either `count` or `expect`"),
    ],
)
def test_check_rejects_bad_expect(expect: str, problem: str) -> None:
    text = rules_yaml(f"- {{name: r, source: log, message: m, expect: {expect}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
