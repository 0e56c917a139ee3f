"""Throttle windows with a controllable clock, kept in the state database across restarts."""

from __future__ import annotations

from pathlib import Path

from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import line, ruleset

RULES = """
- name: failed
  source: log
  match: 'Package (?P<package>\\S+) FAILED'
  message: "{{ package }} failed"
  throttle: {key: "{{ package }}", window: 10m}
"""


def test_one_notification_per_key_per_window(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, line("Package a FAILED", offset=1), line("Package a FAILED", offset=2))
    feed(engine, line("Package b FAILED", offset=3))
    clock.advance(599)
    feed(engine, line("Package a FAILED", offset=4))
    assert texts(store) == ["a failed", "b failed"]
    clock.advance(1)  # the window is over: the next one goes out and tells what was held back
    feed(engine, line("Package a FAILED", offset=5))
    feed(engine, line("Package b FAILED", offset=6))
    assert texts(store) == [
        "a failed",
        "b failed",
        "a failed (+2 similar suppressed)",
        "b failed",
    ]
    store.close()


def test_suppressed_count_as_template_variable(tmp_path: Path) -> None:
    clock = Clock()
    rules = ruleset(
        """
        - name: r
          source: log
          match: 'x'
          message: "x{% if suppressed %} and {{ suppressed }} more{% endif %}"
          throttle: {window: 30s}
        """
    )
    engine, store, _ = make_engine(rules, tmp_path, clock)
    for offset in range(4):
        feed(engine, line("x", offset=offset))
    clock.advance(30)
    feed(engine, line("x", offset=9))
    assert texts(store) == ["x", "x and 3 more"]
    store.close()


def test_windows_survive_restart(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, line("Package a FAILED", offset=1))
    feed(engine, line("Package a FAILED", offset=2))
    store.close()

    clock.advance(60)
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)  # a new process
    feed(engine, line("Package a FAILED", offset=3))
    assert texts(store) == ["a failed"]
    clock.advance(600)
    feed(engine, line("Package a FAILED", offset=4))
    assert texts(store) == ["a failed", "a failed (+2 similar suppressed)"]
    store.close()


def test_reload_keeps_windows_of_unchanged_names_only(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, line("Package a FAILED", offset=1))
    engine.swap_rules(ruleset(RULES.replace('failed"', 'broke"')))  # same name, new text
    feed(engine, line("Package a FAILED", offset=2))
    assert texts(store) == ["a failed"]
    engine.swap_rules(ruleset(RULES.replace("name: failed", "name: renamed")))
    feed(engine, line("Package a FAILED", offset=3))
    assert texts(store) == ["a failed", "a failed"]
    store.close()


def test_render_error_in_key_throttles_whole_rule(tmp_path: Path) -> None:
    clock = Clock()
    rules = ruleset(RULES.replace('{{ package }}", window', '{{ nope }}", window'))
    engine, store, _ = make_engine(rules, tmp_path, clock)
    feed(engine, line("Package a FAILED", offset=1), line("Package b FAILED", offset=2))
    assert texts(store) == ["a failed"]
    store.close()
