"""The shipped rules.example.yaml works as the README says: no credentials, console output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_example_fires_on_a_log_line_and_an_emitted_marker(tmp_path: Path) -> None:
    shutil.copy(ROOT / "rules.example.yaml", tmp_path / "rules.example.yaml")
    (tmp_path / "demo" / "logs").mkdir(parents=True)
    (tmp_path / "demo" / "markers").mkdir()
    log = tmp_path / "demo" / "logs" / "app.log"
    with DaemonProcess(tmp_path / "rules.example.yaml", env={"NO_COLOR": "1"}) as daemon:
        with log.open("a") as handle:
            handle.write("installer[42]: Package 7zip install FAILED exit=1603\n")
        daemon.wait_for_log("[install-failed] (!) RED: 7zip failed to install on")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ruleengine",
                "emit",
                "rebooted",
                "updates=KB5034441",
                "--dir",
                str(tmp_path / "demo" / "markers"),
                "--host",
                "web1",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        daemon.wait_for_log(
            "[server-rebooted] (!) PURPLE: web1 rebooted after installing KB5034441"
        )
        assert daemon.stop() == 0
    assert (tmp_path / "demo" / "markers" / "processed" / "web1.rebooted.json").exists()
