"""An in-process daemon with an http source on a free loopback port, and requests to it.

The rules route by event ``type`` like marker rules route by ``file``; everything goes to a
console destination, so the outbox (read with ``tests.support.outbox``) shows what was stored.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ruleengine import api
from ruleengine.sources.http.source import HttpSource
from tests.support.outbox import outbox_texts

TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-9876543210xx"}

RULES = """\
- name: rebooted
  source: intake
  type: "server.rebooted"
  message: "{{ host }} rebooted (from {{ client }})"
- name: update
  source: intake
  type: '^update\\.(?P<outcome>failed|done)$'
  where: {severity: [high, critical]}
  when: "kb is defined"
  message: "update {{ outcome }} on {{ host }}: {{ kb }}"
- name: cloud
  source: intake
  type: "com.example.*"
  message: "{{ ce.source }} says {{ subject | default('-') }}: {{ text_field | default('') }}"
"""


def rules_file(tmp_path: Path, source: str = "", rules: str = RULES, port: int = 0) -> Path:
    """A rules file with the http source ``intake`` (tokens in files) plus ``source`` lines."""
    for name, token in TOKENS.items():
        (tmp_path / f"{name}.token").write_text(token + "\n", encoding="utf-8")
    clients = "".join(f"      {name}: {{ token: '${{file:{name}.token}}' }}\n" for name in TOKENS)
    text = (
        f"state_dir: {tmp_path / 'state'}\n"
        "defaults: { to: [out] }\n"
        "destinations: { out: { type: console } }\n"
        "sources:\n"
        "  intake:\n"
        "    type: http\n"
        f"    port: {port}\n"
        "    clients:\n"
        f"{clients}"
        f"{textwrap.indent(textwrap.dedent(source), '    ')}"
        "rules:\n"
        f"{textwrap.indent(rules, '  ')}"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Intake:
    url: str
    state: Path
    daemon: api.Daemon

    def post(
        self,
        body: Any,
        *,
        client: str | None = "alice",
        content_type: str = "application/json",
        key: str | None = None,
        session: requests.Session | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        headers = {"Content-Type": content_type}
        if client is not None:
            headers["Authorization"] = f"Bearer {TOKENS[client]}"
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body).encode()
        return (session or requests).post(
            f"{self.url}/v1/events", data=data, headers=headers, timeout=30
        )

    def texts(self) -> list[str]:
        return outbox_texts(self.state)


@contextmanager
def running_intake(
    tmp_path: Path, source: str = "", rules: str = RULES, port: int = 0
) -> Iterator[Intake]:
    with api.running(rules_file(tmp_path, source, rules, port)) as daemon:
        http = daemon.supervisor.sources["intake"]
        assert isinstance(http, HttpSource) and http.address is not None
        host, port = http.address
        yield Intake(f"http://{host}:{port}", tmp_path / "state", daemon)
