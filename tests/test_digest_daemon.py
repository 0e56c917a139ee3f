"""End to end: a pending digest survives a daemon restart and is delivered exactly once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.daemon import spawn, stop
from tests.support.poll import eventually
from tests.support.receiver import Receiver


@pytest.mark.slow
def test_digest_survives_restart(tmp_path: Path, receiver: Receiver) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    config = tmp_path / "rules.yaml"
    config.write_text(
        f"""
state_dir: state
defaults: {{to: [hook]}}
destinations: {{hook: {{type: webhook, url: "{receiver.url}"}}}}
sources: {{drops: {{type: markers, directory: drops, after: delete}}}}
rules:
  - name: rebooted
    source: drops
    file: '(?P<host>[^.]+)\\.rebooted\\.json'
    message: "{{{{ host }}}}"
    digest:
      wait: 8s
      message: "{{{{ count }}}} rebooted: {{{{ events | map(attribute='host') | join(', ') }}}}"
""",
        encoding="utf-8",
    )
    daemon = spawn(config, output=True)
    try:
        (drops / "web1.rebooted.json").write_text("{}", encoding="utf-8")
        eventually(lambda: not (drops / "web1.rebooted.json").exists())  # consumed, committed
    finally:
        assert stop(daemon) == 0, (tmp_path / "daemon.log").read_text(errors="replace")
    assert receiver.requests == []  # still waiting: the digest is pending in the database

    # Dropped before the restart, so a slow start cannot let the window close on web1 alone.
    (drops / "web2.rebooted.json").write_text("{}", encoding="utf-8")
    daemon = spawn(config, output=True)
    try:
        [request] = receiver.wait_for(1, timeout=30)
        time.sleep(0.5)  # nothing else may follow
    finally:
        assert stop(daemon) == 0, (tmp_path / "daemon.log").read_text(errors="replace")
    assert len(receiver.requests) == 1
    assert "2 rebooted: web1, web2" in json.dumps(request.json())
