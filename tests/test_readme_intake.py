"""The README's http intake examples, verbatim: its rules, its curl commands and the body its
PowerShell function sends (PowerShell itself is not installed here; the body is checked
against the function's field list and posted as documented)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from ruleengine import api
from ruleengine.sources.http.source import HttpSource
from tests.support.outbox import outbox

README = Path(__file__).resolve().parents[1] / "README.md"
TOKEN = "scripts-token-0123456789"  # noqa: S105 - a test token


def block(name: str) -> str:
    """The fenced block right after ``<!-- readme-test: name -->``."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- readme-test: {name} -->\n```\w+\n(.*?)```", text, re.DOTALL)
    assert found, f"README has no block {name}"
    return found.group(1)


@pytest.fixture
def intake(tmp_path: Path):  # type: ignore[no-untyped-def]
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "intake-scripts.token").write_text(TOKEN + "\n", encoding="utf-8")
    (etc / "intake-alertmanager.token").write_text("alertmanager-token-0123", encoding="utf-8")
    documented = block("intake-rules")
    rules = (
        documented.replace("/etc/ruleengine/", f"{etc}/")
        .replace("port: 8470", "port: 0")
        .replace("address: 0.0.0.0", "address: 127.0.0.1")  # tests stay on loopback
    )
    assert rules != documented
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\ndefaults: {{ to: [ops-room] }}\n"
        "destinations: { ops-room: { type: console }, ops-mail: { type: console } }\n" + rules,
        encoding="utf-8",
    )
    with api.running(path) as daemon:
        source = daemon.supervisor.sources["intake"]
        assert isinstance(source, HttpSource) and source.address is not None
        yield f"http://127.0.0.1:{source.address[1]}", etc, tmp_path / "state"


def test_the_powershell_body_is_accepted_and_routed(intake) -> None:  # type: ignore[no-untyped-def]
    url, _etc, state = intake
    body = block("intake-powershell-body").strip()
    function = README.read_text(encoding="utf-8")
    ordered = re.search(r"\$fields = \[ordered\]@\{(.*?)\}\n", function)
    assert ordered, "the README's Send-Event builds its fields with [ordered]@{…}"
    keys = [*re.findall(r"(\w+) = ", ordered.group(1)), "destination"]
    assert list(json.loads(body)) == keys  # the documented body has the function's fields
    answer = requests.post(
        f"{url}/v1/events",
        data=body.encode("utf-8"),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json; charset=utf-8",  # as Invoke-RestMethod sends it
            "Idempotency-Key": "0f8fad5b-d9cb-469f-a165-70867728950e",
        },
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    (record,) = outbox(state)
    assert (record["destination"], record["text"]) == ("ops-mail", "WEB01: Patched 12 updates")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_examples_run_as_documented(intake) -> None:  # type: ignore[no-untyped-def]
    url, etc, state = intake
    script = block("intake-curl").replace("https://ruleengine.example.com:8470", url)
    script = script.replace("/etc/ruleengine/", f"{etc}/")
    done = subprocess.run(
        ["bash", "-euc", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count('"accepted": 1') == 2
    records = outbox(state)
    assert [(r["destination"], r["text"], r["color"]) for r in records] == [
        ("ops-room", "db1: backup done", "green"),
        ("ops-room", "/backup/db1: db1 12 GB in 4m", "gray"),
    ]
    # Run again: the Idempotency-Key and the CloudEvents id make it a no-op.
    again = subprocess.run(
        ["bash", "-euc", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert again.stdout.count('"duplicates": 1') == 2
    assert len(outbox(state)) == 2
