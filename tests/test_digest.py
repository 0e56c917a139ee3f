"""Digests: grouped by fields, flushed when due by the engine thread, kept across restarts."""

from __future__ import annotations

import time
from pathlib import Path

from ruleengine.model import Batch
from ruleengine.state import Store
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import marker, ruleset

RULES = """
- name: rebooted
  source: drops
  file: '(?P<host>[^.]+)\\.(?P<event>\\w+)\\.json'
  message: "{{ host }} {{ event }}"
  digest:
    by: [event]
    wait: 2m
    max: 40
    message: "{{ count }} servers {{ event }}: {{ events | map(attribute='host') | join(', ') }}"
    title: "patch night"
"""


def digest_rows(store: Store) -> int:
    return int(store.db.conn().execute("SELECT COUNT(*) FROM rule_digest").fetchone()[0])


def test_events_within_wait_become_one_message(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, woken = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, marker("web1.rebooted.json"), marker("web2.rebooted.json"))
    clock.advance(119)
    feed(engine, marker("db1.rebooted.json"), marker("db1.installed.json"))
    assert engine.flush_due() == []
    assert texts(store) == [] and digest_rows(store) == 4
    clock.advance(1)
    [note] = engine.flush_due()
    assert note.text == "3 servers rebooted: web1, web2, db1"
    assert note.title == "patch night" and woken == ["out"]
    assert texts(store) == ["3 servers rebooted: web1, web2, db1"]
    assert digest_rows(store) == 1  # the 'installed' group is due a little later
    clock.advance(120)
    engine.flush_due()
    assert texts(store)[-1] == "1 servers installed: db1"
    assert digest_rows(store) == 0
    store.close()


def test_max_sends_at_once(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES.replace("max: 40", "max: 2")), tmp_path, clock)
    feed(engine, marker("a.rebooted.json"), marker("b.rebooted.json"), marker("c.rebooted.json"))
    assert texts(store) == ["2 servers rebooted: a, b"]
    assert digest_rows(store) == 1
    store.close()


def test_default_digest_template(tmp_path: Path) -> None:
    clock = Clock()
    rules = ruleset("- {name: r, source: drops, message: '{{ file }}', digest: {wait: 1s}}\n")
    engine, store, _ = make_engine(rules, tmp_path, clock)
    feed(engine, marker("a.json"), marker("b.json"))
    clock.advance(1)
    engine.flush_due()
    assert texts(store) == ["2 x r:\n- a.json\n- b.json"]
    store.close()


def test_restart_mid_window_keeps_pending_events(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, marker("web1.rebooted.json"))
    store.close()  # the daemon stops (or crashes after the commit) mid-window

    clock.advance(60)
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, marker("web2.rebooted.json"))
    clock.advance(59)
    assert engine.flush_due() == []
    clock.advance(1)  # due two minutes after the FIRST event, before the restart
    engine.flush_due()
    assert texts(store) == ["2 servers rebooted: web1, web2"]
    store.close()


def test_reload_without_the_rule_sends_what_was_collected(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    feed(engine, marker("web1.rebooted.json"))
    engine.swap_rules(ruleset("- {name: other, source: drops, message: m}\n"))
    assert texts(store) == ["1 servers rebooted: web1"]
    assert digest_rows(store) == 0
    store.close()


def test_engine_thread_wakes_for_due_digest(tmp_path: Path) -> None:
    rules = ruleset(RULES.replace("wait: 2m", "wait: 0.2s"))
    engine, store, woken = make_engine(rules, tmp_path, time.time)  # type: ignore[arg-type]
    engine.start()
    try:
        engine.emit(Batch((marker("web1.rebooted.json"),)))
        deadline = time.monotonic() + 10
        while not woken and time.monotonic() < deadline:
            time.sleep(0.02)
        assert woken == ["out"]  # no other batch arrived: the timer sent it
    finally:
        engine.stop()
        engine.join(10)
    assert texts(store) == ["1 servers rebooted: web1"]
    store.close()


def test_collected_event_counts_as_matched_for_the_source(tmp_path: Path) -> None:
    """A marker held in a digest is consumed (archived), not left behind as unmatched."""
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    told: list[bool] = []
    engine.process(Batch((marker("web1.rebooted.json"),), on_committed=told.append))
    engine.process(Batch((marker("nothing.txt"),), on_committed=told.append))
    assert told == [True, False]
    store.close()
