"""``status`` knows about reloads, a changed or broken rules file, and recovered errors."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.model import Notification
from ruleengine.state import Store
from tests.support.daemon import DaemonProcess, run_cli

RULES = """\
state_dir: state
destinations:
  out: {{type: console}}
sources:
  app: {{type: logfile, paths: ["{log}"]}}
rules:
  - {{name: errors, source: app, match: 'ERROR (?P<what>.*)', message: "{message}", to: out}}
"""


@pytest.mark.slow
def test_a_failed_reload_and_a_changed_file_are_shown(tmp_path: Path) -> None:
    rules, log = tmp_path / "rules.yaml", tmp_path / "app.log"
    log.write_text("")
    rules.write_text(RULES.format(log=log, message="{{ what }}"))
    with DaemonProcess(rules) as daemon:
        rules.write_text(RULES.format(log=log, message="{{ what | nosuchfilter }}"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reload failed")
        result = run_cli("status", "-c", str(rules))
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "FAILED, still running the previous config" in out
        assert f"  {rules}:7: rules[0].message: template error: No filter named" in out
        assert f"rules file {rules} differs from the running config" in out
        assert f"rules file {rules} has 1 problem:" in out

        data = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)
        assert data["daemon"]["reload_ok"] is False
        assert data["rules_file"]["differs_from_running"] is True

        rules.write_text(RULES.format(log=log, message="fixed {{ what }}"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloaded")
        out = run_cli("status", "-c", str(rules)).stdout
        assert ": ok" in out and "FAILED" not in out and "differs" not in out
        assert daemon.stop() == 0


def test_a_broken_rules_file_is_reported_with_state_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Store(tmp_path / "state").close()
    rules = tmp_path / "rules.yaml"
    rules.write_text("state_dir: [unclosed\n")
    assert main(["status", "-c", str(rules), "--state-dir", str(tmp_path / "state")]) == 0
    out = capsys.readouterr().out
    assert f"rules file {rules} has 1 problem:" in out
    assert "YAML syntax error" in out


def test_a_recovered_error_is_shown_as_recovered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path)
    try:
        store.commit(
            [Notification("a", "hook", "r", "s", "x"), Notification("b", "hook", "r", "s", "y")], []
        )
        first, second = store.pending("hook", 2)
        store.mark_retry(first.seq, 0.0, "HTTP 503")
        store.settle_delivered([(first, None, None)])
        assert main(["status", "--state-dir", str(tmp_path), "-c", "/nonexistent", "--json"]) == 0
        [dest] = json.loads(capsys.readouterr().out)["destinations"]
        assert (dest["last_error"], dest["recovered_error"]) == (None, "HTTP 503")

        store.mark_retry(second.seq, 0.0, "HTTP 500")  # newer than the last success
        assert main(["status", "--state-dir", str(tmp_path), "-c", "/nonexistent", "--json"]) == 0
        [dest] = json.loads(capsys.readouterr().out)["destinations"]
        assert dest["last_error"] == "HTTP 500"
    finally:
        store.close()
