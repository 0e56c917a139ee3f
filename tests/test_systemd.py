"""sd_notify over a real AF_UNIX datagram socket, from unit level up to a real daemon process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruleengine.config import load_config
from ruleengine.pipeline.supervisor import Supervisor
from ruleengine.redact import Redactor
from ruleengine.systemd import Notifier, socket_address, watchdog_interval
from tests.support.daemon import DaemonProcess, append, rules_text
from tests.support.receiver import Receiver


class NotifySocket:
    """What systemd listens on: a datagram socket collecting ``KEY=value`` messages."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(socket_address(address))
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []

    def receive_until(
        self, key: str, value: str | None = None, timeout: float = 20.0
    ) -> dict[str, str]:
        """Collect datagrams until one has ``key`` (with ``value``); return that one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            message = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(message)
            if key in message and (value is None or message[key] == value):
                return message
        raise AssertionError(f"no {key}={value} within {timeout}s; got {self.messages}")

    def count(self, key: str) -> int:
        return sum(1 for message in self.messages if key in message)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotifySocket]:
    address = (
        str(tmp_path / "notify.sock")
        if request.param == "path"
        else f"@ruleengine-test-{uuid.uuid4().hex}"
    )
    server = NotifySocket(address)
    yield server
    server.close()


def test_notifier_sends_state_lines(notify_socket: NotifySocket) -> None:
    notifier = Notifier(notify_socket.address, watchdog=0.5)
    assert notifier.ready("2 sources")
    message = notify_socket.receive_until("READY", "1")
    assert message["STATUS"] == "2 sources"
    assert notifier.watchdog(now=100.0)
    assert not notifier.watchdog(now=100.2), "pings are rate-limited to half the period"
    assert notifier.watchdog(now=100.6)
    assert notifier.status("busy")
    assert notifier.status("busy"), "an unchanged status is not sent again"
    notifier.stopping()
    notify_socket.receive_until("STOPPING", "1")
    notifier.close()
    assert notify_socket.count("WATCHDOG") == 2
    assert [m.get("STATUS") for m in notify_socket.messages].count("busy") == 1


def test_notifier_is_a_no_op_without_notify_socket() -> None:
    notifier = Notifier.from_environ({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert not notifier.watchdog()
    notifier.close()


def test_unreachable_manager_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "nobody-listens.sock"), watchdog=1.0)
    assert not notifier.ready()
    assert not notifier.watchdog(now=10.0)
    notifier.close()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "43"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(environ, pid=42) == expected


def test_no_watchdog_ping_while_a_worker_is_dead(
    notify_socket: NotifySocket, tmp_path: Path, receiver: Receiver
) -> None:
    """Liveness means the whole pipeline: a dead delivery worker stops the pings (in-process,
    workers never started, so none is alive)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", tmp_path / "app.log", receiver.url, "x"))
    notifier = Notifier(notify_socket.address, watchdog=0.01)
    supervisor = Supervisor(load_config(rules), Redactor(), notifier=notifier)
    try:
        assert supervisor.dispatcher.dead() == ["hook"]
        supervisor._tick()
        supervisor._tick()
        with pytest.raises(AssertionError):
            notify_socket.receive_until("WATCHDOG", timeout=0.5)
    finally:
        supervisor.close_unstarted()
        notifier.close()


@pytest.mark.slow
def test_daemon_reports_ready_watchdog_reload_and_stop(tmp_path: Path, receiver: Receiver) -> None:
    """Abstract socket address, as systemd uses (a path address is covered above). The second
    ping comes from the idle engine loop: an idle daemon must keep pinging."""
    notify_socket = NotifySocket(f"@ruleengine-test-{uuid.uuid4().hex}")
    try:
        _ready_watchdog_reload_and_stop(notify_socket, tmp_path, receiver)
    finally:
        notify_socket.close()


def _ready_watchdog_reload_and_stop(
    notify_socket: NotifySocket, tmp_path: Path, receiver: Receiver
) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "got {{ what }}"))
    env = {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "1000000"}
    with DaemonProcess(rules, workdir=tmp_path, env=env, log_level="debug") as daemon:
        ready = notify_socket.receive_until("READY", "1")
        assert "0 pending" in ready["STATUS"]
        # READY means watching: a line written right after it is read (start_at: end).
        append(log, "ERROR disk full\n")
        assert receiver.wait_for(1)[0].json()["text"] == "got disk full"
        notify_socket.receive_until("WATCHDOG", "1")
        notify_socket.receive_until("WATCHDOG", "1")
        daemon.signal(signal.SIGHUP)
        notify_socket.receive_until("RELOADING", "1")
        notify_socket.receive_until("READY", "1")
        daemon.signal(signal.SIGTERM)
        notify_socket.receive_until("STOPPING", "1")
        assert daemon.wait(20) == 0
    assert notify_socket.count("WATCHDOG") >= 2


# -- the unit file --------------------------------------------------------------------------

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "ruleengine.service"
INSTALLED_BINARY = "/opt/ruleengine/venv/bin/ruleengine"
MAX_EXPOSURE = 1.5


def test_unit_file_declares_the_service_contract() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStartPre={INSTALLED_BINARY} check",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "StateDirectory=ruleengine",
        "CacheDirectory=ruleengine",
        "SupplementaryGroups=adm systemd-journal",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "UMask=0077",
        "MemoryMax=",
        "TasksMax=",
    ):
        assert line in text, line
    assert f"ExecStart={INSTALLED_BINARY} run" in text
    assert "WatchdogSec=" in text


def _analyzable_copy(tmp_path: Path) -> Path:
    """``verify`` insists the executables exist; the package is not installed in /opt here, so
    check a copy whose ExecStart/ExecStartPre point at a temporary executable instead."""
    binary = tmp_path / "bin" / "ruleengine"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    copy = tmp_path / "ruleengine.service"
    copy.write_text(UNIT.read_text().replace(INSTALLED_BINARY, str(binary)))
    return copy


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd; .ci/run does)")
    return found


def test_unit_file_verifies_clean(systemd_analyze: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [systemd_analyze, "verify", str(_analyzable_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_unit_file_security_exposure(systemd_analyze: str, tmp_path: Path) -> None:

    result = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", str(_analyzable_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout
