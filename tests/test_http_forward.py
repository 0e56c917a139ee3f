"""Agent → central forwarding with two real daemons (``type: ruleengine`` destination).

20 simulated hosts post reboots to an agent whose rule forwards them; the central instance is
down at first (the agent keeps them in its outbox and retries), then starts and digests the
whole fleet into one message, seeing each event's origin ``host`` and the agent's ``client``.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import requests

from tests.support.daemon import DaemonProcess
from tests.support.outbox import outbox_rows
from tests.support.poll import eventually
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow
HOSTS_TOKEN = "hosts-token-0123456789"  # noqa: S105 - test tokens
AGENT_TOKEN = "agent-token-0123456789"  # noqa: S105

AGENT = """\
state_dir: {root}/agent-state
destinations:
  central:
    type: ruleengine
    url: "http://127.0.0.1:{central}"
    token: "${{file:agent.token}}"
    retry: {{ backoff: 0.2s, backoff_max: 0.5s }}
sources:
  intake: {{ type: http, port: 0, clients: {{ hosts: {{ token: "${{file:hosts.token}}" }} }} }}
rules:
  - {{ name: forward, source: intake, type: server.rebooted, message: "{{{{ host }}}}",
      to: central }}
"""
CENTRAL = """\
state_dir: {root}/central-state
destinations:
  hook: {{ type: webhook, url: "{hook}/hook" }}
sources:
  fleet:
    type: http
    port: {central}
    clients: {{ agent1: {{ token: "${{file:agent.token}}" }} }}
rules:
  - name: patch-night
    source: fleet
    type: server.rebooted
    message: "{{{{ host }}}} rebooted"
    to: hook
    digest:
      by: [type]
      wait: 3s
      message: >-
        {{{{ count }}}} servers rebooted:
        {{{{ events | map(attribute='host') | sort | join(',') }}}}
        via {{{{ events | map(attribute='client') | unique | join(',') }}}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_twenty_hosts_through_an_agent_become_one_central_digest(tmp_path: Path) -> None:
    (tmp_path / "hosts.token").write_text(HOSTS_TOKEN)
    (tmp_path / "agent.token").write_text(AGENT_TOKEN)
    central_port = _free_port()
    with Receiver() as hook:
        agent_rules = tmp_path / "agent.yaml"
        agent_rules.write_text(AGENT.format(root=tmp_path, central=central_port))
        central_rules = tmp_path / "central.yaml"
        central_rules.write_text(CENTRAL.format(root=tmp_path, central=central_port, hook=hook.url))
        agent_dir, central_dir = tmp_path / "agent", tmp_path / "central"
        agent_dir.mkdir()
        central_dir.mkdir()
        with DaemonProcess(agent_rules, workdir=agent_dir) as agent:
            log = agent.wait_for_log("listening on http://127.0.0.1:")
            port = log.split("listening on http://127.0.0.1:")[-1].split()[0]
            for number in range(20):
                answer = requests.post(
                    f"http://127.0.0.1:{port}/v1/events",
                    json={"type": "server.rebooted", "host": f"h{number:02}"},
                    headers={"Authorization": f"Bearer {HOSTS_TOKEN}"},
                    timeout=30,
                )
                assert answer.status_code == 202
            # The central instance is down: the agent keeps retrying, nothing is given up.
            # Central is down: the agent retries its first row (FIFO) and gives up nothing.
            eventually(
                lambda: outbox_rows(tmp_path / "agent-state")[0]["attempts"] >= 3,
                30,
                "three failed attempts to forward",
            )
            rows = outbox_rows(tmp_path / "agent-state")
            assert len(rows) == 20 and {r["state"] for r in rows} == {"pending"}
            with DaemonProcess(central_rules, workdir=central_dir):
                (digest,) = hook.wait_for(1, timeout=60)
                time.sleep(4)  # a second digest would be due by now
                assert len(hook.requests) == 1
            hosts = ",".join(f"h{n:02}" for n in range(20))
            assert digest.json()["text"] == f"20 servers rebooted: {hosts} via agent1"
            eventually(
                lambda: (
                    {r["state"] for r in outbox_rows(tmp_path / "agent-state")} == {"delivered"}
                ),
                30,
                "every forward delivered",
            )
            agent.stop()
