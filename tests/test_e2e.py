"""End to end with real processes: `ruleengine run` tails a file and a drop directory and POSTs
to a real HTTP receiver; stopping and restarting loses and repeats nothing."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.outbox import outbox_rows
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.slow

RULES = """\
state_dir: state
defaults: {{to: [hook]}}
destinations:
  hook: {{type: webhook, url: "{url}/hooks/T0/B0/SECRETPATH", headers: {{X-Token: tok-12345}}}}
sources:
  app: {{type: logfile, paths: [logs/*.log]}}
  drops: {{type: markers, directory: drops, after: archive}}
rules:
  - name: install-failed
    source: app
    match: 'Package (?P<package>\\S+) install FAILED exit=(?P<code>\\d+)'
    message: "{{{{ package }}}} failed to install (exit {{{{ code }}}})"
    color: red
    notify: true
  - name: rebooted
    source: drops
    file: '(?P<host>[^.]+)\\.rebooted\\.json'
    title: Reboot
    message: "{{{{ host }}}} rebooted after {{{{ updates | join(', ') }}}}"
    color: purple
"""


def setup_tree(tmp_path: Path, receiver: Receiver) -> Path:
    (tmp_path / "logs").mkdir()
    (tmp_path / "drops").mkdir()
    (tmp_path / "logs" / "app.log").write_text("old line before start\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=receiver.url), encoding="utf-8")
    return rules


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def drop_marker(directory: Path, name: str, payload: dict[str, object]) -> None:
    temp = directory / f".{name}.tmp"
    temp.write_text(json.dumps(payload), encoding="utf-8")
    temp.rename(directory / name)


def test_line_and_marker_reach_the_receiver_exactly_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = setup_tree(tmp_path, receiver)
    log = tmp_path / "logs" / "app.log"
    with DaemonProcess(rules) as daemon:
        append(log, "Nov 27 10:00:01 web1 installer[42]: Package 7zip install FAILED exit=1603\n")
        (request,) = receiver.wait_for(1)
        body = request.json()
        assert (request.method, request.path) == ("POST", "/hooks/T0/B0/SECRETPATH")
        assert request.headers["X-Token"] == "tok-12345"
        assert request.headers["Idempotency-Key"] == body["id"]
        assert isinstance(body.pop("id"), str)
        sent_at = body.pop("time")
        assert isinstance(sent_at, float)
        assert body == {
            "rule": "install-failed",
            "source": "app",
            "text": "7zip failed to install (exit 1603)",
            "title": None,
            "color": "red",
            "color_hex": "#d00000",
            "notify": True,
            "format": "text",
            "fields": {
                "host": socket.gethostname(),
                "source": "app",
                "rule": "install-failed",
                "time": sent_at,
                "line": "Nov 27 10:00:01 web1 installer[42]: Package 7zip install FAILED exit=1603",
                "path": str(log),
                "offset": len("old line before start\n"),
                "package": "7zip",
                "code": "1603",
            },
        }

        drop_marker(tmp_path / "drops", "web1.rebooted.json", {"updates": ["KB1", "KB2"]})
        second = receiver.wait_for(2)[1].json()
        assert (second["rule"], second["title"], second["text"], second["color"]) == (
            "rebooted",
            "Reboot",
            "web1 rebooted after KB1, KB2",
            "purple",
        )
        assert second["fields"]["file"] == "web1.rebooted.json"
        assert daemon.stop() == 0

    assert (tmp_path / "drops" / "processed" / "web1.rebooted.json").exists()
    assert not (tmp_path / "drops" / "web1.rebooted.json").exists()
    assert "SECRETPATH" not in daemon.output and "tok-12345" not in daemon.output

    # Lines written while the daemon is down are read on restart; nothing is sent twice.
    append(log, "Package while-down install FAILED exit=2\n")
    with DaemonProcess(rules) as daemon:
        third = receiver.wait_for(3)[2].json()
        assert third["fields"]["package"] == "while-down"
        append(log, "Package after-restart install FAILED exit=3\n")
        fourth = receiver.wait_for(4)[3].json()
        assert fourth["fields"]["package"] == "after-restart"
        assert daemon.stop() == 0
    assert len(receiver.requests) == 4


def test_failing_receiver_keeps_rows_until_they_go_through(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A 503 then a stop: the row stays pending in the outbox and is delivered after restart."""
    rules = setup_tree(tmp_path, receiver)
    receiver.default = Reply(status=503, body="down for maintenance")
    with DaemonProcess(rules) as daemon:
        append(tmp_path / "logs" / "app.log", "Package p install FAILED exit=1\n")
        receiver.wait_for(1)
        daemon.wait_for_log("HTTP 503")
        assert daemon.stop() == 0
    row = outbox_rows(tmp_path / "state")[0]
    assert row["state"] == "pending" and row["attempts"] >= 1

    receiver.default = Reply(status=200)
    with DaemonProcess(rules) as daemon:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and receiver.requests[-1].reply.status != 200:
            time.sleep(0.1)
        assert daemon.stop() == 0
    bodies = [r.json() for r in receiver.requests]
    assert len({body["id"] for body in bodies}) == 1  # one notification, retried
    assert [r.reply.status for r in receiver.requests].count(200) == 1
    assert [row["state"] for row in outbox_rows(tmp_path / "state")] == ["delivered"]


def test_permanent_error_is_dead_lettered_and_not_retried(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = setup_tree(tmp_path, receiver)
    receiver.default = Reply(status=404, body="no_service")
    with DaemonProcess(rules) as daemon:
        append(tmp_path / "logs" / "app.log", "Package p install FAILED exit=1\n")
        receiver.wait_for(1)
        daemon.wait_for_log("dead-lettered")
        assert daemon.stop() == 0
    assert len(receiver.requests) == 1
    assert "SECRETPATH" not in daemon.output
