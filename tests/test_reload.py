"""Reload on SIGHUP and on rules file edits, with a real daemon process and a real receiver."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from ruleengine.config import load_config
from ruleengine.errors import ConfigError
from ruleengine.pipeline.reload import plan_reload
from tests.support.daemon import DaemonProcess, append, rules_text
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def _texts(receiver: Receiver, count: int) -> list[str]:
    return [r.json()["text"] for r in receiver.wait_for(count)]


def _replace(path: Path, text: str) -> None:
    """Save like an editor does: write a temporary file, then rename it over the old one."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def test_sighup_with_valid_rules_switches_rules(tmp_path: Path, receiver: Receiver) -> None:
    # The rules file sits behind a symlink in another directory: only SIGHUP can reload it.
    real, conf = tmp_path / "real", tmp_path / "conf"
    real.mkdir()
    conf.mkdir()
    log, state = tmp_path / "app.log", tmp_path / "state"
    log.write_text("")
    (real / "rules.yaml").write_text(rules_text(state, log, receiver.url, "old {{ what }}"))
    (conf / "rules.yaml").symlink_to(real / "rules.yaml")
    with DaemonProcess(conf / "rules.yaml", workdir=tmp_path, log_level="debug") as daemon:
        daemon.wait_running()
        append(log, "ERROR one\n")
        assert _texts(receiver, 1) == ["old one"]
        (real / "rules.yaml").write_text(rules_text(state, log, receiver.url, "new {{ what }}"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log(re.compile(r"reloading .*\(SIGHUP\)"))
        daemon.wait_for_log(re.compile(r"reloaded .*config [0-9a-f]{12}"))
        append(log, "ERROR two\n")
        assert _texts(receiver, 2) == ["old one", "new two"]
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0


def test_sighup_with_invalid_rules_keeps_running_rules(tmp_path: Path, receiver: Receiver) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    good = rules_text(tmp_path / "state", log, receiver.url, "old {{ what }}")
    rules.write_text(good)
    with DaemonProcess(rules, workdir=tmp_path, log_level="debug") as daemon:
        daemon.wait_running()
        # An unknown key; the message changes too, which must not be adopted.
        broken = good.replace("    start_at: end\n", "    start_at: end\n    follow: yes\n")
        broken = broken.replace("old {{ what }}", "new {{ what }}")
        line = broken.splitlines().index("    follow: yes") + 1
        rules.write_text(broken)
        daemon.signal(signal.SIGHUP)
        text = daemon.wait_for_log(re.compile(r"reload failed"))
        assert f"{rules}:{line}: sources.app.follow: unknown key 'follow'" in text
        append(log, "ERROR still here\n")
        assert _texts(receiver, 1) == ["old still here"]
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    assert "Traceback" not in daemon.output


def test_editing_the_rules_file_reloads_it(tmp_path: Path, receiver: Receiver) -> None:
    """No signal: saving the file is enough. The edit adds a source and a destination."""
    log, other, rules = tmp_path / "app.log", tmp_path / "other.log", tmp_path / "rules.yaml"
    log.write_text("")
    other.write_text("")
    base = rules_text(tmp_path / "state", log, receiver.url, "old {{ what }}")
    rules.write_text(base)
    with DaemonProcess(rules, workdir=tmp_path, log_level="debug") as daemon:
        daemon.wait_running()
        edited = base.replace("old {{ what }}", "new {{ what }}")
        edited = edited.replace(
            "sources:\n",
            f'  hook2:\n    type: webhook\n    url: "{receiver.url}/hook2"\n'
            f'sources:\n  other:\n    type: logfile\n    paths: ["{other}"]\n',
        )
        edited += (
            "  - name: other\n    source: other\n    match: 'WARN (?P<what>.*)'\n"
            '    message: "other {{ what }}"\n    to: [hook2]\n'
        )
        _replace(rules, edited)
        text = daemon.wait_for_log(re.compile(r"reloaded "))
        assert "(the rules file changed)" in text
        assert "sources +other" in text
        assert "destinations +hook2" in text
        append(log, "ERROR a\n")
        assert _texts(receiver, 1) == ["new a"]
        append(other, "WARN b\n")
        requests = receiver.wait_for(2)
        assert (requests[1].path, requests[1].json()["text"]) == ("/hook2", "other b")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0


def test_no_line_lost_or_duplicated_across_reloads(tmp_path: Path, receiver: Receiver) -> None:
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "v0 {{ what }}"))
    lines = 60
    with DaemonProcess(rules, workdir=tmp_path, log_level="debug") as daemon:
        daemon.wait_running()

        def write() -> None:
            for index in range(lines):
                append(log, f"ERROR {index}\n")
                time.sleep(0.01)

        writer = threading.Thread(target=write, name="writer")
        writer.start()
        for version in (1, 2):
            rules.write_text(
                rules_text(tmp_path / "state", log, receiver.url, f"v{version} {{{{ what }}}}")
            )
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log(re.compile(r"reloaded "), count=version)
        writer.join()
        texts = _texts(receiver, lines)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    time.sleep(0.2)
    assert len(receiver.requests) == lines, "no duplicates"
    assert sorted(int(t.split()[1]) for t in texts) == list(range(lines))
    versions = [t.split()[0] for t in texts]
    assert versions == sorted(versions), "each line is rendered by the rules current when read"


def test_plan_stops_removed_and_changed_sources_and_keeps_the_rest(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The reload planner is pure: two configs in, what to add/replace/remove out."""
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "x"))
    old = load_config(rules)
    edited = rules.read_text().replace("start_at: end", "start_at: beginning")
    edited = edited.replace(
        "sources:\n",
        f"sources:\n  drops:\n    type: markers\n    directory: {tmp_path / 'drops'}\n",
    )
    rules.write_text(edited.replace("  hook:\n", "  hook:\n    rate: 5\n"))
    plan = plan_reload(old, load_config(rules))
    assert plan.sources.stop == ["app"]
    assert sorted(plan.sources.start) == ["app", "drops"]
    assert plan.destinations.start == ["hook"]
    assert plan.destinations.removed == []
    assert plan.summary == ["sources +drops ~app", "destinations ~hook"]
    unchanged = plan_reload(old, old)
    assert unchanged.summary == []
    assert unchanged.sources.stop == unchanged.destinations.start == []
    moved = rules.read_text().replace(str(tmp_path / "state"), str(tmp_path / "elsewhere"))
    rules.write_text(moved)
    with pytest.raises(ConfigError, match="state_dir changed"):
        plan_reload(old, load_config(rules))
