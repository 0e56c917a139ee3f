"""HTTP senders honour the environment as requests does (proxies, NO_PROXY, ~/.netrc), read
once per host, and share one deadline watchdog thread. The loopback receiver plays the proxy: a
proxied request arrives in absolute form.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ruleengine.redact import Redactor
from ruleengine.senders.http import HttpClient
from ruleengine.senders.replies import Response
from tests.support.poll import eventually
from tests.support.receiver import Receiver


def test_proxy_no_proxy_and_netrc_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login ops password s3cret-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with Receiver() as proxy, Receiver() as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = HttpClient(Redactor(), timeout=10)
        try:
            proxied = client.request("POST", "http://hooks.example.invalid/a", json_body={})
            assert isinstance(proxied, Response) and proxied.status == 200
            (seen,) = proxy.wait_for(1)
            assert seen.path == "http://hooks.example.invalid/a"  # absolute form: a proxy
            reached = client.request("POST", f"{direct.url}/b", json_body={})
            assert isinstance(reached, Response) and reached.status == 200
            (straight,) = direct.wait_for(1)
            assert straight.path == "/b"  # NO_PROXY: not through the proxy
            assert straight.headers.get("Authorization", "").startswith("Basic ")  # ~/.netrc
            monkeypatch.delenv("HTTP_PROXY")  # read once per host: the proxy stays
            client.request("POST", "http://hooks.example.invalid/c", json_body={})
            assert [r.path for r in proxy.wait_for(2)][-1] == "http://hooks.example.invalid/c"
        finally:
            client.close()


def watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "deadlines"]


def test_one_watchdog_times_every_attempt_and_ends_when_idle() -> None:
    """Attempts do not start a timer thread each; the shared one goes after a quiet second."""
    with Receiver() as receiver:
        client = HttpClient(Redactor(), timeout=10)
        try:
            seen = set()
            for i in range(20):
                assert isinstance(client.request("POST", f"{receiver.url}/{i}"), Response)
                seen.update(t.ident for t in watchdogs())
            assert len(seen) == 1
        finally:
            client.close()
    eventually(lambda: not watchdogs(), timeout=5.0, what="the idle watchdog to end")
