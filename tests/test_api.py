"""The Python API: dry-run previews, and the daemon run and stopped in-process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ruleengine import api
from ruleengine.errors import ConfigError, StateError
from tests.support.daemon import append, rules_text
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply


def _rules(tmp_path: Path, url: str) -> tuple[Path, Path]:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, url, "got {{ what }}"))
    return log, rules


def test_evaluate_line_gives_each_notification_with_its_exact_payload(tmp_path: Path) -> None:
    _, rules = _rules(tmp_path, "http://127.0.0.1:9")
    loaded = api.load(rules)
    [out] = api.evaluate_line(loaded, "ERROR disk full")
    assert out.notification.destination == "hook"
    assert out.notification.text == "got disk full"
    assert out.payload["method"] == "POST"  # exactly what the webhook sender would send
    assert out.payload["json"]["text"] == "got disk full"
    assert out.payload["json"]["id"] == out.notification.id
    assert api.evaluate_line(loaded, "INFO all good") == []
    assert not (tmp_path / "state").exists(), "a dry run stores nothing"


def test_load_reports_every_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{name: x}]\nbogus: 1\n")
    with pytest.raises(ConfigError) as caught:
        api.load(rules)
    assert len(caught.value.problems) >= 2


def test_running_in_process_delivers_drains_and_leaves_no_thread(
    tmp_path: Path, receiver: Receiver
) -> None:
    log, rules = _rules(tmp_path, receiver.url)
    before = set(threading.enumerate())
    with api.running(rules, stop_timeout=5) as daemon:
        append(log, "ERROR disk full\nERROR disk full again\n")
        assert [r.json()["text"] for r in receiver.wait_for(2)] == [
            "got disk full",
            "got disk full again",
        ]
        assert daemon.wait_drained(10)
        # Drained: nothing more is on its way, so asserting "no duplicate" needs no sleep.
        assert len(receiver.requests) == 2
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert set(left) <= {"deadlines"}  # the HTTP senders' shared watchdog, which ends when idle
    eventually(
        lambda: not [t for t in set(threading.enumerate()) - before if t.is_alive()],
        timeout=5.0,
        what="the daemon's threads to end",
    )


def test_wait_drained_times_out_while_a_delivery_is_in_flight(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The drained signal can fail: a send still waiting for its answer is not drained."""
    log, rules = _rules(tmp_path, receiver.url)
    arrived = threading.Event()

    def slow() -> Reply:  # called as the request arrives, before its answer
        arrived.set()
        return Reply(delay=1.5)

    receiver.responder = slow
    with api.running(rules, stop_timeout=5) as daemon:
        append(log, "ERROR slow\n")
        assert arrived.wait(10)
        assert not daemon.wait_drained(0.2)
        assert daemon.wait_drained(10)
        assert len(receiver.requests) == 1


def test_reload_through_the_api_keeps_the_daemon_on_a_broken_file(
    tmp_path: Path, receiver: Receiver
) -> None:
    log, rules = _rules(tmp_path, receiver.url)
    with api.running(rules, stop_timeout=5) as daemon:
        rules.write_text(rules.read_text().replace("got {{ what }}", "now {{ what }}"))
        assert daemon.reload()
        rules.write_text("rules: [")
        assert not daemon.reload()
        append(log, "ERROR after reloads\n")
        assert receiver.wait_for(1)[0].json()["text"] == "now after reloads"
        assert daemon.wait_drained(10)


def test_a_broken_state_database_is_reported_and_nothing_runs(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Embedded, a user mistake is an exception naming the file (the CLI prints it); no
    thread is left behind (the autouse leak guard checks)."""
    _, rules = _rules(tmp_path, receiver.url)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.db").write_text("not a database")
    with pytest.raises(StateError, match=r"state\.db"), api.running(rules):
        pass
