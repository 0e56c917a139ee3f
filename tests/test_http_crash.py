"""kill -9 during a storm of POSTs to a real daemon: every 202 survives, retries add nothing."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import requests

from tests.support.daemon import DaemonProcess
from tests.support.intakekit import TOKENS, rules_file
from tests.support.outbox import outbox_texts
from tests.support.poll import eventually

pytestmark = [pytest.mark.slow, pytest.mark.chaos]
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
RULES = """\
- name: all
  source: intake
  type: "storm"
  message: "{{ key }}"
"""


def _url(daemon: DaemonProcess, count: int) -> str:
    log = daemon.wait_for_log(LISTENING, count=count)
    return f"http://127.0.0.1:{LISTENING.findall(log)[-1]}/v1/events"


def _post(session: requests.Session, url: str, key: str) -> int:
    return session.post(
        url,
        json={"type": "storm", "key": key},
        headers={"Authorization": f"Bearer {TOKENS['alice']}", "Idempotency-Key": key},
        timeout=30,
    ).status_code


def test_every_acknowledged_event_survives_kill_9_and_retries_do_not_duplicate(
    tmp_path: Path,
) -> None:
    rules = rules_file(tmp_path, "rate: 10000\nburst: 10000\n", RULES)
    state = tmp_path / "state"
    acked: set[str] = set()
    unanswered: set[str] = set()
    lock = threading.Lock()
    with DaemonProcess(rules, workdir=tmp_path) as daemon:
        url = _url(daemon, 1)

        def storm(client: int) -> None:
            with requests.Session() as session:
                for number in range(10_000):
                    key = f"c{client}-{number}"
                    try:
                        code = _post(session, url, key)
                    except requests.RequestException:
                        with lock:
                            unanswered.add(key)
                        return
                    with lock:
                        (acked if code == 202 else unanswered).add(key)

        threads = [threading.Thread(target=storm, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        eventually(lambda: len(acked) >= 300, 60, "300 acknowledged events")
        daemon.kill()
        for thread in threads:
            thread.join(60)
    stored = outbox_texts(state)
    assert acked <= set(stored), f"lost {len(acked - set(stored))} acknowledged events"
    assert len(stored) == len(set(stored))
    # The clients that got no answer retry, and so does everyone else: nothing twice.
    with DaemonProcess(rules, workdir=tmp_path) as daemon:
        url = _url(daemon, 2)
        with requests.Session() as session:
            for key in sorted(acked | unanswered):
                assert _post(session, url, key) == 202
        daemon.stop()
    stored = outbox_texts(state)
    assert sorted(stored) == sorted(acked | unanswered)
