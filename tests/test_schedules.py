"""Schedules: named weekly windows in an IANA zone (DST-correct), and a rule's ``schedule``
with drop / hold / quiet outside its time, on an injected clock."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.errors import ConfigError
from ruleengine.rules.compiler import compile_model
from ruleengine.rules.schedule import Window, parse_days, parse_hours
from tests.support.enginekit import Clock, feed, make_engine
from tests.support.outbox import outbox
from tests.support.rulekit import line, rules_yaml

BERLIN = ZoneInfo("Europe/Berlin")


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=BERLIN).timestamp()


def local(epoch: float | None) -> str:
    assert epoch is not None
    return dt.datetime.fromtimestamp(epoch, BERLIN).strftime("%a %Y-%m-%d %H:%M %Z")


OFFICE = Window(parse_days("mon-fri"), parse_hours("08:00-18:00"), BERLIN)
NIGHT = Window(parse_days("daily"), parse_hours("22:00-02:00"), BERLIN)


def test_office_hours_and_the_weekend() -> None:
    assert OFFICE.contains(at(2026, 12, 4, 9, 0))  # Friday
    assert not OFFICE.contains(at(2026, 12, 4, 18, 0))
    assert not OFFICE.contains(at(2026, 12, 5, 9, 0))  # Saturday
    assert local(OFFICE.next_change(at(2026, 12, 4, 19, 0))) == "Mon 2026-12-07 08:00 CET"


def test_range_past_midnight_belongs_to_its_first_day() -> None:
    assert NIGHT.contains(at(2026, 12, 2, 23, 0)) and NIGHT.contains(at(2026, 12, 3, 1, 59))
    assert not NIGHT.contains(at(2026, 12, 3, 2, 0))
    weekend_nights = Window(parse_days("fri"), parse_hours("22:00-02:00"), BERLIN)
    assert weekend_nights.contains(at(2026, 12, 5, 1, 0))  # Saturday 01:00: Friday's night
    assert not weekend_nights.contains(at(2026, 12, 4, 1, 0))  # Friday 01:00: Thursday's


def test_dst_changes_keep_wall_clock_boundaries() -> None:
    # Spring forward (29 March 2026, 02:00 → 03:00): 08:00 is still 08:00 local, 23 h later.
    friday_evening = at(2026, 3, 27, 19, 0)
    assert local(OFFICE.next_change(friday_evening)) == "Mon 2026-03-30 08:00 CEST"
    # Fall back (25 October 2026): the office opens at 08:00 CET on Monday.
    assert local(OFFICE.next_change(at(2026, 10, 23, 19, 0))) == "Mon 2026-10-26 08:00 CET"
    short = Window(parse_days("daily"), parse_hours("02:30-03:00"), BERLIN)
    assert not short.contains(at(2026, 3, 29, 3, 30))  # 02:30 did not exist that night


@pytest.mark.parametrize(
    ("text", "error"),
    [("mon-funday", "unknown day"), ("", "unknown day")],
)
def test_bad_days(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_days(text)


RULES = """
- name: reboot
  source: log
  match: '(?P<host>\\S+) rebooted'
  message: "{{ host }} rebooted"
  notify: true
  schedule: {only: office, otherwise: OTHERWISE}
"""
SCHEDULES = """
schedules:
  office: {days: mon-fri, hours: "08:00-18:00", tz: Europe/Berlin}
"""


def engine_for(tmp_path: Path, otherwise: str, clock: Clock):  # type: ignore[no-untyped-def]
    text = rules_yaml(RULES.replace("OTHERWISE", otherwise)) + textwrap.dedent(SCHEDULES)
    config = load_config_text(text, Path("/nonexistent/rules.yaml"))
    model = config.model
    return make_engine(compile_model(model), tmp_path, clock)


def test_hold_outside_then_one_digest_when_the_window_opens(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 4, 17, 59))  # Friday
    engine, store, _ = engine_for(tmp_path, "hold", clock)
    feed(engine, line("web0 rebooted", offset=0))
    clock.now = at(2026, 12, 5, 1, 0)
    feed(engine, line("web1 rebooted", offset=1), line("web2 rebooted", offset=2))
    clock.now = at(2026, 12, 7, 7, 59)
    engine.flush_due()
    assert [r["text"] for r in outbox(tmp_path)] == ["web0 rebooted"]
    clock.now = at(2026, 12, 7, 8, 0)
    engine.flush_due()
    assert [r["text"] for r in outbox(tmp_path)][1:] == [
        "2 x reboot:\n- web1 rebooted\n- web2 rebooted"
    ]
    store.close()


def test_quiet_outside_delivers_without_notify(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 5, 12, 0))  # Saturday
    engine, store, _ = engine_for(tmp_path, "quiet", clock)
    feed(engine, line("web1 rebooted", offset=1))
    clock.now = at(2026, 12, 7, 9, 0)
    feed(engine, line("web2 rebooted", offset=2))
    assert [(r["text"], r["notify"]) for r in outbox(tmp_path)] == [
        ("web1 rebooted", False),
        ("web2 rebooted", True),
    ]
    store.close()


def test_drop_outside_is_counted(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 5, 12, 0))
    engine, store, _ = engine_for(tmp_path, "drop", clock)
    feed(engine, line("web1 rebooted", offset=1), line("web2 rebooted", offset=2))
    clock.now = at(2026, 12, 8, 12, 0)
    engine.flush_due()
    assert outbox(tmp_path) == []
    assert engine.state.drops.totals == {("rule", "reboot"): 2}
    store.close()


def test_mute_during_a_window(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 4, 23, 0))
    text = rules_yaml(RULES.replace("only: office", "mute: night").replace("OTHERWISE", "drop"))
    text += 'schedules:\n  night: {hours: "22:00-02:00", tz: Europe/Berlin}\n'
    model = load_config_text(text, Path("/r/rules.yaml")).model
    engine, store, _ = make_engine(compile_model(model), tmp_path, clock)
    feed(engine, line("web1 rebooted", offset=1))
    clock.now = at(2026, 12, 5, 2, 0)
    feed(engine, line("web2 rebooted", offset=2))
    assert [r["text"] for r in outbox(tmp_path)] == ["web2 rebooted"]
    store.close()


@pytest.mark.parametrize(
    ("schedules", "schedule", "problem"),
    [
        ("{}", "{only: office}", "rules[0].schedule.only: no schedule named 'office'"),
        ("{o: {tz: Mars/Olympus}}", "{only: o}", "schedules.o.tz: unknown time zone"),
        ("{o: {tz: UTC, hours: '8-18'}}", "{only: o}", "schedules.o.hours"),
        ("{o: {tz: UTC, days: someday}}", "{only: o}", "schedules.o.days: unknown day"),
        ("{o: {tz: UTC}}", "{only: o, mute: o}", "exactly one of `only` or `mute`"),
        ("{o: {tz: UTC}}", "{only: o, otherwise: later}", "rules[0].schedule.otherwise"),
    ],
)
def test_check_rejects_bad_schedules(schedules: str, schedule: str, problem: str) -> None:
    text = rules_yaml(f"- {{name: r, source: log, message: m, schedule: {schedule}}}\n")
    text += f"schedules: {schedules}\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems


DEST_RULES = """
- name: reboot
  source: log
  match: '(?P<host>\\S+) rebooted'
  message: "{{ host }} rebooted"
  notify: true
  to: [out, other]
"""


def dest_engine(tmp_path: Path, otherwise: str, clock: Clock):  # type: ignore[no-untyped-def]
    text = rules_yaml(DEST_RULES) + textwrap.dedent(SCHEDULES)
    text = text.replace(
        "other: {type: console}",
        f"other: {{type: console, schedule: {{only: office, otherwise: {otherwise}}}}}",
    )
    model = load_config_text(text, Path("/nonexistent/rules.yaml")).model
    rules = compile_model(model)
    return make_engine(rules, tmp_path, clock)


def test_destination_holds_outside_its_schedule_then_one_message(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 5, 12, 0))  # Saturday
    engine, store, _ = dest_engine(tmp_path, "hold", clock)
    feed(engine, line("web1 rebooted", offset=1), line("web2 rebooted", offset=2))
    assert [(r["destination"], r["text"]) for r in outbox(tmp_path)] == [
        ("out", "web1 rebooted"),
        ("out", "web2 rebooted"),
    ]
    store.close()
    engine, store, _ = make_engine(engine.rules, tmp_path, clock)  # held across a restart
    clock.now = at(2026, 12, 7, 8, 0)
    engine.flush_due()
    last = outbox(tmp_path)[-1]
    assert (last["destination"], last["text"], last["notify"]) == (
        "other",
        "2 notifications held outside the schedule:\n- web1 rebooted\n- web2 rebooted",
        True,
    )
    feed(engine, line("web3 rebooted", offset=3))
    assert [r["destination"] for r in outbox(tmp_path)][-2:] == ["out", "other"]
    store.close()


def test_destination_quiet_and_drop(tmp_path: Path) -> None:
    clock = Clock(at(2026, 12, 5, 12, 0))
    engine, store, _ = dest_engine(tmp_path / "q", "quiet", clock)
    feed(engine, line("web1 rebooted", offset=1))
    assert [(r["destination"], r["notify"]) for r in outbox(tmp_path / "q")] == [
        ("out", True),
        ("other", False),
    ]
    store.close()
    engine, store, _ = dest_engine(tmp_path / "d", "drop", clock)
    feed(engine, line("web1 rebooted", offset=1))
    assert [r["destination"] for r in outbox(tmp_path / "d")] == ["out"]
    assert engine.state.drops.totals == {("destination", "other"): 1}
    store.close()


def test_check_rejects_unknown_destination_schedule() -> None:
    text = rules_yaml("- {name: r, source: log, message: m}\n").replace(
        "other: {type: console}", "other: {type: console, schedule: {mute: nope}}"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(
        "destinations.other.schedule.mute: no schedule named 'nope'" in p
        for p in caught.value.problems
    ), caught.value.problems
