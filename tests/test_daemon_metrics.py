"""The optional Prometheus endpoint, scraped from a real daemon over loopback HTTP."""

from __future__ import annotations

import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from ruleengine.errors import ConfigError
from ruleengine.metrics import parse_address
from tests.support.daemon import DaemonProcess, append, rules_text, run_cli
from tests.support.receiver import Receiver


@pytest.mark.parametrize("value", ["127.0.0.1:9464", "[::1]:9464", "localhost:9464"])
def test_loopback_addresses_are_accepted(value: str) -> None:
    assert parse_address(value)[1] == 9464


@pytest.mark.parametrize("value", ["0.0.0.0:9464", "9464", "127.0.0.1:http", "127.0.0.1:0"])
def test_other_addresses_are_refused(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_address(value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


@pytest.mark.slow
def test_metrics_count_the_pipeline(tmp_path: Path, receiver: Receiver) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "{{ what }}"))
    port = _free_port()
    with DaemonProcess(
        rules, "--metrics", f"127.0.0.1:{port}", workdir=tmp_path, log_level="debug"
    ) as daemon:
        daemon.wait_running()
        append(log, "ERROR one\nnot matched\n")
        receiver.wait_for(1)
        deadline = time.monotonic() + 10
        settled = ('outcome="delivered"', 'ruleengine_queue_pending{destination="hook"} 0.0')
        while not all(part in (text := _scrape(port)) for part in settled):  # reply on its way
            assert time.monotonic() < deadline, text
            time.sleep(0.05)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
    assert 'ruleengine_events_read_total{source="app"} 2.0' in text
    assert 'ruleengine_notifications_queued_total{destination="hook"} 1.0' in text
    assert 'ruleengine_delivery_attempts_total{destination="hook",outcome="delivered"} 1.0' in text
    assert 'ruleengine_delivery_latency_seconds_count{destination="hook"} 1.0' in text
    assert 'ruleengine_queue_pending{destination="hook"} 0.0' in text
    assert 'ruleengine_dead_letters{destination="hook"} 0.0' in text


def test_metrics_on_a_public_address_is_a_usage_error(tmp_path: Path, receiver: Receiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", tmp_path / "app.log", receiver.url, "x"))
    result = run_cli("run", "-c", str(rules), "--metrics", "0.0.0.0:9464")
    assert result.returncode == 2
    assert "loopback" in result.stderr and "Traceback" not in result.stderr
