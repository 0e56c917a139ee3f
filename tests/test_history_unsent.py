"""``ruleengine history --silenced`` / ``--dropped``: what silences held back and schedules
dropped, recorded in the commit that decided it; drop counts in ``status``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ruleengine.cli import main
from ruleengine.config import load_config
from ruleengine.rules.compiler import compile_model
from ruleengine.state import Store
from ruleengine.state import silences as silence_rows
from ruleengine.state.history import Query
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.outbox import outbox
from tests.support.rulekit import SILENCE_RULES, line, rules_yaml, ruleset

# The shared silence rules, `reboot` with a title (an unsent message is listed with it).
RULES = SILENCE_RULES.replace(
    '  message: "{{ host }} rebooted"', '  title: "Reboot"\n  message: "{{ host }} rebooted"'
)


def history_json(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["history", "--state-dir", str(state), "--json", *args]) == 0
    return list(json.loads(capsys.readouterr().out))


def test_silenced_notifications_are_listed_with_their_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    with store.transaction() as conn:
        ident = silence_rows.add(conn, "reboot", [], clock.now, clock.now + 3600, "patch", 0)
    feed(engine, line("web1 rebooted", offset=1), line("web1 failed", offset=2))
    assert texts(store) == ["web1 failed"]
    clock.advance(3600)
    engine.flush_due()  # the summary points at the listing
    assert texts(store)[1].endswith("see `ruleengine history --silenced`")
    store.close()

    silenced = history_json(tmp_path, capsys, "--silenced")
    assert [(e["rule"], e["destination"], e["outcome"]) for e in silenced] == [
        ("reboot", "out", "silenced"),
        ("reboot", "other", "silenced"),
    ]
    assert {e["cause"] for e in silenced} == {f"silence {ident}: patch"}
    assert {e["text"] for e in silenced} == {"Reboot: web1 rebooted"}
    assert {e["time"] for e in silenced} == {clock.now - 3600}  # when it was held back
    assert history_json(tmp_path, capsys) == []  # nothing was sent (the queue is not worked)
    assert main(["history", "--state-dir", str(tmp_path), "--silenced"]) == 0
    table = capsys.readouterr().out
    assert f"silence {ident}: patch | Reboot: web1 rebooted" in table
    assert "silenced" in table


def test_silenced_entries_commit_with_the_batch_and_stay_out_of_the_default_view(
    tmp_path: Path,
) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    with store.transaction() as conn:
        silence_rows.add(conn, None, [("host", "web2")], clock.now, clock.now + 60, "", 0)
    feed(engine, line("web2 failed", offset=1))
    store.close()
    reader = Store(tmp_path)  # another connection: what was committed
    (entry,) = reader.history(Query(outcomes=("silenced",)))
    assert (entry.rule, entry.text, entry.attempts) == ("failed", "web2 failed", 0)
    assert entry.cause is not None and entry.cause.endswith(": host=web2")  # no reason given
    assert reader.history(Query()) == []
    assert reader.history(Query(outcomes=("dead",))) == []
    reader.close()


DROPPING = """
- name: reboot
  source: log
  match: '(?P<host>\\S+) rebooted'
  message: "{{ host }} rebooted"
  schedule: {only: office, otherwise: drop}
- name: failed
  source: log
  match: '(?P<host>\\S+) failed'
  message: "{{ host }} failed"
  to: [out, other]
"""
SCHEDULES = """\
schedules:
  office: {days: mon-fri, hours: "08:00-18:00", tz: Europe/Berlin}
"""
SATURDAY = dt.datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def dropping_rules(tmp_path: Path) -> Path:
    text = rules_yaml(DROPPING, state=str(tmp_path / "state")) + SCHEDULES
    text = text.replace(
        "other: {type: console}",
        "other: {type: console, schedule: {mute: office, otherwise: drop}}",
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_schedule_drops_are_counted_durably_listed_and_shown_in_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, state = dropping_rules(tmp_path), tmp_path / "state"
    rules = compile_model(load_config(path).model)
    clock = Clock(SATURDAY)
    engine, store, _ = make_engine(rules, state, clock)
    feed(engine, line("web1 rebooted", offset=1), line("web1 failed", offset=2))
    store.close()
    engine, store, _ = make_engine(rules, state, clock)  # counts survive a restart
    feed(engine, line("web2 rebooted", offset=3))
    store.close()
    # Saturday: `reboot` drops; `other` is muted only during office hours, so it gets `failed`.
    assert [(n["destination"], n["text"]) for n in outbox(state)] == [
        ("out", "web1 failed"),
        ("other", "web1 failed"),
    ]
    dropped = history_json(state, capsys, "--dropped")
    assert [(e["rule"], e["destination"], e["text"], e["cause"]) for e in dropped] == [
        ("reboot", "out", "web1 rebooted", "outside schedule office"),
        ("reboot", "out", "web2 rebooted", "outside schedule office"),
    ]
    assert {e["time"] for e in dropped} == {SATURDAY}
    assert main(["status", "-c", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "dropped outside their schedule (see `ruleengine history --dropped`):" in shown
    assert "  rule reboot: 2 events, last " in shown
    assert main(["status", "-c", str(path), "--json"]) == 0
    (drops,) = json.loads(capsys.readouterr().out)["drops"]
    assert (drops["kind"], drops["name"], drops["dropped"]) == ("rule", "reboot", 2)


def test_a_destination_schedule_drop_is_listed_per_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, state = dropping_rules(tmp_path), tmp_path / "state"
    rules = compile_model(load_config(path).model)
    monday = SATURDAY + 2 * 86400  # Monday 12:00: the office is open, `other` is muted
    engine, store, _ = make_engine(rules, state, Clock(monday))
    feed(engine, line("web1 failed", offset=1))
    store.close()
    assert [n["destination"] for n in outbox(state)] == ["out"]
    (entry,) = history_json(state, capsys, "--dropped", "--silenced")
    assert (entry["destination"], entry["outcome"], entry["cause"]) == (
        "other",
        "dropped",
        "during schedule office",
    )
    assert main(["status", "-c", str(path)]) == 0
    assert "  destination other: 1 notification, last " in capsys.readouterr().out
