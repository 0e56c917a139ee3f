"""``./dev install`` lays out the service under a root prefix; ``./dev uninstall`` keeps state.

The pip step (a fresh venv from the checkout or a wheel) needs the package index and a minute;
``.ci/run`` runs it in full (wheel build, fresh venv, ``check`` on the example). Here the layout
is checked with ``--skip-venv``, and the installed rules file with this checkout's ``check``.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ruleengine.cli import main

REPO = Path(__file__).resolve().parents[1]


def dev(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "dev"), *argv], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="the install script is bash")
def test_install_layout_and_uninstall_keeps_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = dev("install", "--root", str(tmp_path), "--skip-venv")
    assert done.returncode == 0, done.stderr
    rules = tmp_path / "etc/ruleengine/rules.yaml"
    unit = tmp_path / "etc/systemd/system/ruleengine.service"
    env = tmp_path / "etc/ruleengine/ruleengine.env"
    assert unit.read_text() == (REPO / "systemd/ruleengine.service").read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    text = rules.read_text()
    assert "state_dir: /var/lib/ruleengine\n" in text
    assert "directory: /var/lib/ruleengine/markers/updates" in text
    assert "demo/" not in text.split("rules:")[0]
    assert main(["check", "-c", str(rules)]) == 0, capsys.readouterr().err
    # The unit's StateDirectory= creates the drop directory the installed rules watch.
    assert "StateDirectory=ruleengine ruleengine/markers/updates" in unit.read_text()

    rules.write_text(text + "# mine\n")
    assert dev("install", "--root", str(tmp_path), "--skip-venv").returncode == 0
    assert rules.read_text().endswith("# mine\n"), "an existing rules file is never overwritten"

    done = dev("uninstall", "--root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert not unit.exists()
    assert rules.exists() and env.exists()


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    done = dev("install", "--root", str(tmp_path), "--bogus")
    assert done.returncode == 2
    assert "unknown option --bogus" in done.stderr
