"""Third-party senders through the ``ruleengine.senders`` entry-point group, in real processes.

``tests/plugin_example`` is laid out as an installed distribution would be (a module and its
``.dist-info`` with ``entry_points.txt``); putting it on PYTHONPATH installs it for the child.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.daemon import command
from tests.support.receiver import Receiver

EXAMPLE = Path(__file__).parent / "plugin_example"
SECRET = "echo-secret-0123456789abcdef"  # noqa: S105 - fake


def ruleengine(*args: str, path: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.getcwd()])}
    return subprocess.run(
        command(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_installed_plugin_is_a_destination_type(receiver: Receiver) -> None:
    url = f"{receiver.url}/hook/{SECRET}"
    done = ruleengine("send", "--type", "echo", "--url", url, "-m", "hi @here", "--title", "T")
    assert done.returncode == 0, done.stderr
    (request,) = receiver.wait_for(1)
    assert request.path == f"/hook/{SECRET}"
    assert request.json() == {"title": "T", "text": "hi @\u200bhere"}  # the text layer applies


def test_a_plugin_destination_in_a_rules_file_passes_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "state_dir: state\n"
        "destinations:\n"
        f"  hook: {{type: echo, url: 'https://example.org/hook/{SECRET}'}}\n"
        "sources:\n  app: {type: logfile, paths: [app.log]}\n"
        "rules:\n  - {name: r, source: app, message: m, to: [hook]}\n"
    )
    done = ruleengine("check", "-c", str(rules))
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    wrong = rules.read_text().replace("url:", "link:")
    rules.write_text(wrong)
    done = ruleengine("check", "-c", str(rules))
    assert done.returncode == 2 and "link" in done.stderr


def test_a_broken_plugin_is_skipped_with_a_warning(tmp_path: Path) -> None:
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ruleengine.senders]\nbroken = no_such_module:x\n")
    done = ruleengine("send", "--type", "console", "-m", "still works", path=tmp_path)
    assert done.returncode == 0
    assert "still works" in done.stdout
    assert "sender plugin 'broken'" in done.stderr and "cannot be loaded" in done.stderr
