"""SIGTERM with deliveries in flight, a second SIGTERM, and restarts: nothing is ever lost."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, append, rules_text, run_cli
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.slow


def _pending(rules: Path) -> int:
    result = run_cli("status", "-c", str(rules), "--json")
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["destinations"][0]["pending"])


def _start_slow_delivery(
    daemon: DaemonProcess, log: Path, receiver: Receiver, delay: float
) -> None:
    """Get one send in flight: the receiver is inside its slow reply when this returns."""
    receiver.reply(Reply(status=429, headers={"Retry-After": "0"}), Reply(delay=delay))
    append(log, "ERROR slow\n")
    deadline = time.monotonic() + 20
    # The receiver takes a scripted reply as a request arrives (before the delay), so an empty
    # script means the retry is being answered slowly right now.
    while receiver._script:
        assert time.monotonic() < deadline, daemon.output
        time.sleep(0.02)


def test_sigterm_lets_an_in_flight_send_finish(tmp_path: Path, receiver: Receiver) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "{{ what }}"))
    with DaemonProcess(
        rules, "--stop-timeout", "10", workdir=tmp_path, log_level="debug"
    ) as daemon:
        daemon.wait_running()
        _start_slow_delivery(daemon, log, receiver, delay=1.5)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    delivered = len(receiver.requests) - 1  # the first request was answered 429
    assert (delivered, _pending(rules)) == (1, 0), "the in-flight send finished and was recorded"
    assert "stopped" in daemon.output


def test_stop_timeout_exits_promptly_and_keeps_the_row(tmp_path: Path, receiver: Receiver) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "{{ what }}"))
    with DaemonProcess(
        rules, "--stop-timeout", "0.5", workdir=tmp_path, log_level="debug"
    ) as daemon:
        daemon.wait_running()
        _start_slow_delivery(daemon, log, receiver, delay=6.0)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(5) == 0, "the stop timeout bounds the exit, not the slow receiver"
    assert _pending(rules) == 1
    # The next start delivers it: not lost.
    with DaemonProcess(rules, workdir=tmp_path, log_level="debug") as daemon:
        daemon.wait_running()
        deadline = time.monotonic() + 20
        while _pending(rules):
            assert time.monotonic() < deadline, daemon.output
            time.sleep(0.1)
        # Recorded by the receiver before the daemon marked it delivered (the first, slow
        # attempt is still asleep in the receiver and is recorded only when it wakes).
        assert [r.json()["text"] for r in receiver.requests][-1] == "slow"
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0


def test_second_sigterm_exits_at_once_without_corrupting_state(
    tmp_path: Path, receiver: Receiver
) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "{{ what }}"))
    with DaemonProcess(
        rules, "--stop-timeout", "60", workdir=tmp_path, log_level="debug"
    ) as daemon:
        daemon.wait_running()
        _start_slow_delivery(daemon, log, receiver, delay=6.0)
        daemon.signal(signal.SIGTERM)
        daemon.wait_for_log(re.compile("SIGTERM received"))
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(5) == 1
        assert "second SIGTERM: exiting now" in daemon.output
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert _pending(rules) == 1


def test_run_with_a_corrupt_state_database_fails_clearly(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", tmp_path / "app.log", receiver.url, "x"))
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.db").write_bytes(b"this is not sqlite\n" * 100)
    result = run_cli("run", "-c", str(rules))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "state.db" in result.stderr
    assert "mv " in result.stderr, "the way out is part of the message"


def test_json_logs_hold_no_secret_even_at_debug(tmp_path: Path, receiver: Receiver) -> None:
    """A token written literally in a webhook URL (not a known secret) never reaches the log:
    URLs are redacted and library request lines ("POST /path HTTP/1.1") are not logged."""
    token = "xoxb" + "9f8e7d6c5b4a"
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, f"{receiver.url}/{token}", "{{ what }}"))
    receiver.reply(Reply(status=500, body=f"no such hook {token}"))
    with DaemonProcess(
        rules, "--log-format", "json", workdir=tmp_path, log_level="debug"
    ) as daemon:
        daemon.wait_for_log(re.compile(r"running \(pid"))
        append(log, "ERROR once\n")
        receiver.wait_for(2)
        daemon.wait_for_log(re.compile(r"delivery to hook failed"))
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    entries = [json.loads(line) for line in daemon.output.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert "debug" in {entry["level"] for entry in entries}
    assert token not in daemon.output


def test_log_level_warning_hides_info(tmp_path: Path, receiver: Receiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", tmp_path / "app.log", receiver.url, "x"))
    with DaemonProcess(
        rules, "--log-level", "warning", workdir=tmp_path, log_level="debug", ready=False
    ) as daemon:
        # Nothing at warning or above happens, so wait for the state the daemon records.
        deadline = time.monotonic() + 20
        while (
            run_cli("status", "-c", str(rules), "--json").returncode != 0
            or not json.loads(run_cli("status", "-c", str(rules), "--json").stdout)["daemon"][
                "running"
            ]
        ):
            assert time.monotonic() < deadline, daemon.output
            time.sleep(0.2)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    assert "running (pid" not in daemon.output
    assert " INFO " not in daemon.output and " DEBUG " not in daemon.output


def test_literal_credentials_in_destinations_are_redacted(tmp_path: Path) -> None:
    from ruleengine.config import load_config_text  # noqa: PLC0415
    from ruleengine.redact import destination_secrets  # noqa: PLC0415

    config = load_config_text(
        """\
state_dir: state
destinations:
  slack:
    type: webhook
    url: https://hooks.example.com/services/T0AB12CD/B0XY34ZZ/abcdEFGH1234ijkl?x=1
    headers: { Authorization: "Bearer s3cr3t-value", X-Plain: "tenant-0042" }
  screen: { type: console }
sources:
  app: { type: logfile, paths: [app.log] }
rules:
  - { name: r, source: app, message: m, to: [slack] }
""",
        tmp_path / "rules.yaml",
    )
    secrets = destination_secrets(config.model.destinations)
    assert {"T0AB12CD", "B0XY34ZZ", "abcdEFGH1234ijkl", "s3cr3t-value", "tenant-0042"} <= secrets
    assert "services" not in secrets and "hooks.example.com" not in secrets


def test_text_logs_under_journald_carry_the_priority(tmp_path: Path, receiver: Receiver) -> None:
    """systemd sets JOURNAL_STREAM to stderr's dev:ino; the daemon then prefixes each line with
    its syslog priority (journald's level) and leaves timestamps to the journal."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", tmp_path / "app.log", receiver.url, "x"))
    (tmp_path / "daemon.log").touch()  # DaemonProcess sends stderr here
    info = (tmp_path / "daemon.log").stat()
    stream = f"{info.st_dev}:{info.st_ino}"
    with DaemonProcess(
        rules, workdir=tmp_path, env={"JOURNAL_STREAM": stream}, log_level="debug"
    ) as daemon:
        daemon.wait_for_log(
            re.compile(r"<6>INFO ruleengine.pipeline.supervisor: ruleengine .* running \(pid")
        )
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    assert all(line.startswith(("<6>", "<7>", "<4>")) for line in daemon.output.splitlines())
