"""``ruleengine history``: a durable, bounded record of what was sent, and the delivery log."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from ruleengine import api
from ruleengine.cli import main
from ruleengine.model import Notification
from ruleengine.state import Store
from ruleengine.state.history import Query
from tests.support.daemon import append, rules_text
from tests.support.receiver import Receiver, Reply


def history(capsys: pytest.CaptureFixture[str], rules: Path, *argv: str) -> list[dict[str, object]]:
    assert main(["history", "-c", str(rules), "--json", *argv]) == 0
    data: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return data


def test_the_daemon_records_every_outcome(
    tmp_path: Path,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "got {{ what }}"))
    receiver.reply(Reply(status=200), Reply(status=400, body="bad payload"))
    with caplog.at_level(logging.DEBUG), api.running(rules, stop_timeout=5) as daemon:
        append(log, "ERROR disk full\nERROR \x1b[31mred\n")
        receiver.wait_for(2)
        assert daemon.wait_drained(10)

    entries = history(capsys, rules)
    assert [(e["rule"], e["destination"], e["outcome"], e["text"]) for e in entries] == [
        ("errors", "hook", "delivered", "got disk full"),
        ("errors", "hook", "dead", "got \x1b[31mred"),
    ]
    assert entries[0]["event"] == f"{log}:0"
    assert entries[1]["error"] == "HTTP 400: bad payload"
    assert [e["text"] for e in history(capsys, rules, "--failed")] == ["got \x1b[31mred"]
    assert [e["text"] for e in history(capsys, rules, "--grep", "DISK")] == ["got disk full"]
    assert history(capsys, rules, "--rule", "other") == []
    assert history(capsys, rules, "--to", "elsewhere") == []
    assert len(history(capsys, rules, "--since", "1h")) == 2
    assert history(capsys, rules, "--since", "2999-01-01") == []

    assert main(["history", "-c", str(rules)]) == 0
    table = capsys.readouterr().out
    assert "errors" in table and "got disk full" in table
    assert "\x1b" not in table  # terminal escapes are shown, not played

    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("delivered ") and 'rule=errors to=hook "got disk full"' in m for m in messages
    )
    assert any('rule=errors for hook "got \\e[31mred"' in m for m in messages)


def test_retention_by_age_and_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        notes = [
            Notification(f"id{i}", "hook", "r", "s", f"text {i}", created=0.0) for i in range(5)
        ]
        store.commit(notes, [])
        for row in store.pending("hook", 10):
            store.settle_delivered([(row, None, None)])
        assert len(store.history(Query())) == 5
        assert store.prune_history(time.time() - 3600, max_rows=3) == 2
        assert [e.text for e in store.history(Query())] == ["text 2", "text 3", "text 4"]
        assert store.prune_history(time.time() + 1, max_rows=3) == 3
        assert store.history(Query()) == []
    finally:
        store.close()


def test_history_needs_a_state_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--state-dir", str(tmp_path)]) == 1
    assert "no state database" in capsys.readouterr().err


def test_retention_is_configurable(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    text = rules_text(tmp_path / "state", tmp_path / "a.log", "http://127.0.0.1:9", "m")
    rules.write_text(text + "history: {max_age: 7d, max_rows: 500}\n")
    model = api.load(rules).config.model
    assert (model.history.max_age, model.history.max_rows) == (7 * 86400.0, 500)
