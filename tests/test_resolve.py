"""Resolved notices on an injected clock: open alerts, pairing by key, expiry, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.errors import ConfigError
from ruleengine.rules.resolve import OpenAlerts
from tests.support.enginekit import Clock, feed, make_engine
from tests.support.outbox import outbox
from tests.support.rulekit import RESOLVE_RULES, line, rules_yaml, ruleset


def sent(store_path: Path) -> list[tuple[str, str]]:
    return [(record["text"], record["color"]) for record in outbox(store_path)]


def test_pure_open_close_and_expiry() -> None:
    alerts = OpenAlerts()
    alerts.open("r", "k", 0.0, 100.0, {"a": 1})
    alerts.open("r", "k", 50.0, 100.0, {"a": 2})  # a repeat keeps the first time
    closed = alerts.close("r", "k", 60.0)
    assert closed is not None and (closed.opened, closed.variables) == (0.0, {"a": 2})
    assert alerts.close("r", "k", 61.0) is None
    alerts.open("r", "k", 0.0, 100.0, {})
    assert alerts.close("r", "k", 100.0) is None  # expired


def test_recovery_resolves_the_open_alert_once(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RESOLVE_RULES), tmp_path, clock)
    feed(engine, line("Package 7zip installed on web1", offset=1))  # nothing open: no news
    feed(engine, line("Package 7zip install FAILED on web1", offset=2))
    clock.advance(40 * 60)
    feed(engine, line("Package 7zip installed on web2", offset=3))  # another key
    feed(engine, line("Package 7zip installed on web1", offset=4))
    feed(engine, line("Package 7zip installed on web1", offset=5))  # already resolved
    assert sent(tmp_path) == [
        ("7zip failed on web1", "red"),
        ("7zip on web1 resolved after 40m", "green"),
    ]
    store.close()


def test_open_alerts_survive_restart_and_expire(tmp_path: Path) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RESOLVE_RULES), tmp_path, clock)
    feed(engine, line("Package a install FAILED on web1", offset=1))
    feed(engine, line("Package b install FAILED on web1", offset=2))
    store.close()
    clock.advance(3600)
    engine, store, _ = make_engine(ruleset(RESOLVE_RULES), tmp_path, clock)  # a new process
    feed(engine, line("Package a installed on web1", offset=3))
    clock.advance(86400)  # b's alert is older than `expire: 1d` by now
    feed(engine, line("Package b installed on web1", offset=4))
    assert [text for text, _ in sent(tmp_path)] == [
        "a failed on web1",
        "b failed on web1",
        "a on web1 resolved after 1h",
    ]
    store.close()


@pytest.mark.parametrize(
    ("resolves", "problem"),
    [
        ("{rule: nope, key: k}", "rules[0].resolves.rule: no other rule named 'nope'"),
        ("{rule: r, key: k}", "rules[0].resolves.rule: no other rule named 'r'"),
        ("{rule: r, key: '{{ x'}", "rules[0].resolves.key: template syntax error"),
        ("{rule: r}", "rules[0].resolves.key"),
    ],
)
def test_check_rejects_bad_resolves(resolves: str, problem: str) -> None:
    text = rules_yaml(f"- {{name: r, source: log, message: m, resolves: {resolves}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
