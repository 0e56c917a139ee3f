"""Silences on an injected clock: held back, counted, summarised once per destination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.commands.silence import parse_until
from ruleengine.model import Notification
from ruleengine.rules.silences import Silence, Silences
from ruleengine.state import Store
from ruleengine.state import silences as rows
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import SILENCE_RULES, line, rules_yaml, ruleset


def note(rule: str, destination: str = "out", **fields: str) -> Notification:
    return Notification(
        id=f"{rule}-{destination}-{fields}",
        destination=destination,
        rule=rule,
        source="log",
        text="t",
        title=None,
        color="gray",
        notify=False,
        format="text",
        created=0.0,
        fields=fields,
    )


def test_pure_filter_counts_and_ends_once() -> None:
    state = Silences()
    state.refresh([Silence("s1", None, (("host", "web1"),), 0.0, 100.0, "patch night")])
    kept = state.filter([note("r", host="web1"), note("r", host="web2")], 50.0)
    assert [n.fields["host"] for n in kept] == ["web2"]
    assert state.filter([note("r", host="web1")], 100.0) != []  # over: no longer holds back
    assert state.ended(99.0) == []
    (ended,) = state.ended(100.0)
    assert ended.suppressed == {"out": 1}
    assert state.ended(101.0) == []
    added, summarized = state.changes()
    assert added == {("s1", "out"): 1} and summarized == {"s1"}


def test_pure_rule_and_destination_matchers() -> None:
    silence = Silence("s", "reboot", (("destination", "out"),), 0.0, 1.0, "")
    assert silence.covers("reboot", "out", {})
    assert not silence.covers("reboot", "other", {})
    assert not silence.covers("failed", "out", {})
    assert silence.describe() == "rule=reboot destination=out"


def add(
    store: Store, rule: str | None, match: list[tuple[str, str]], ends: float, now: float
) -> str:
    with store.transaction() as conn:
        return rows.add(conn, rule, match, now, ends, "patch night", now)


def test_engine_silences_then_one_summary_per_destination(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(SILENCE_RULES), tmp_path, clock)
    add(store, "reboot", [], clock.now + 3600, clock.now)
    feed(engine, line("web1 rebooted", offset=1), line("web2 rebooted", offset=2))
    feed(engine, line("web1 failed", offset=3))
    assert texts(store) == ["web1 failed"]
    clock.advance(3599)
    engine.flush_due()
    assert texts(store) == ["web1 failed"]
    clock.advance(1)
    engine.flush_due()
    summaries = texts(store)[1:]
    assert len(summaries) == 2  # one for `out`, one for `other`
    assert all(
        s.startswith("2 notifications were silenced during 'patch night'") for s in summaries
    )
    engine.flush_due()
    feed(engine, line("web3 rebooted", offset=4))
    assert texts(store)[3:] == ["web3 rebooted", "web3 rebooted"]
    store.close()


def test_counts_and_silence_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(SILENCE_RULES), tmp_path, clock)
    add(store, None, [("host", "web1")], clock.now + 600, clock.now)
    feed(engine, line("web1 failed", offset=1))
    store.close()
    engine, store, _ = make_engine(ruleset(SILENCE_RULES), tmp_path, clock)  # a new process
    feed(engine, line("web1 failed", offset=2), line("web2 failed", offset=3))
    assert texts(store) == ["web2 failed"]
    clock.advance(600)
    engine.flush_due()
    assert texts(store)[1].startswith("2 notifications were silenced")
    store.close()


def test_engine_notices_a_silence_another_connection_expires(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(SILENCE_RULES), tmp_path, clock)
    ident = add(store, "failed", [], clock.now + 3600, clock.now)
    feed(engine, line("web1 failed", offset=1))
    cli = Store(tmp_path)  # the CLI's own connection, as `silence expire` uses
    with cli.transaction() as conn:
        assert rows.expire(conn, ident[:3], clock.now) == [ident]
    cli.close()
    engine.flush_due()
    assert texts(store) == [
        "1 notification was silenced during 'patch night' (rule=failed); "
        "see `ruleengine history --silenced`"
    ]
    store.close()


def write_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(rules_yaml(SILENCE_RULES, state=str(tmp_path / "state")), encoding="utf-8")
    return path


def test_cli_add_list_expire_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = str(write_rules(tmp_path))
    assert (
        main(
            [
                "silence",
                "add",
                "-c",
                rules,
                "--rule",
                "reboot",
                "--for",
                "2h",
                "--reason",
                "patch night",
            ]
        )
        == 0
    )
    ident = capsys.readouterr().out.split()[1]
    assert main(["silence", "list", "-c", rules, "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == ident and listed["rule"] == "reboot" and listed["active"]
    assert main(["status", "-c", rules]) == 0
    assert (
        f"{ident}  ends in 1h59m  rule=reboot  0 silenced  patch night" in capsys.readouterr().out
    )
    assert main(["silence", "expire", "-c", rules, ident]) == 0
    assert main(["silence", "expire", "-c", rules, "nope"]) == 1
    assert "no such open silence" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--rule", "nope", "--for", "1h"], "no rule named 'nope'"),
        (["--for", "1h"], "say what to silence"),
        (["--match", "host", "--for", "1h"], "expected FIELD=VALUE"),
        (["--rule", "reboot", "--until", "tomorrowish"], "cannot read time"),
        (["--rule", "reboot", "--for", "soon"], "expected a duration"),
        (["--rule", "reboot", "--until", "2001-01-01T00:00+00:00"], "already be over"),
    ],
)
def test_cli_mistakes_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    rules = str(write_rules(tmp_path))
    assert main(["silence", "add", "-c", rules, *args, "--reason", "r"]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "state").exists()  # a mistake creates no state database


def test_until_accepts_clock_times_and_iso() -> None:
    now = 1_700_000_000.0
    assert 0 < parse_until("06:00", now) - now <= 86400
    assert parse_until("2023-11-14T23:00:00+00:00", now) == 1_700_002_800.0


def test_summarised_silences_are_pruned_after_90_days(tmp_path: Path) -> None:
    store = Store(tmp_path)
    old = add(store, "reboot", [], 1000.0, 0.0)
    fresh = add(store, "reboot", [], 5000.0, 0.0)
    with store.transaction() as conn:
        conn.execute("UPDATE silences SET summarized = 1")
        rows.save(conn, Silences())
        rows.prune(conn, 2000.0)
    assert [item.silence.id for item in rows.listing(store.db.conn(), True)] == [fresh]
    assert old != fresh
    store.close()
