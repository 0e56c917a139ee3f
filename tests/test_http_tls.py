"""The http source over TLS, with client certificates required (certificates made by openssl)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.intakekit import TOKENS, running_intake

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(where: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all from the CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=where)  # fmt: skip
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    for name, extra in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=where)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extra,
                 cwd=where)  # fmt: skip


def test_https_with_a_client_certificate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _certificates(tmp_path)
    caplog.set_level(logging.WARNING)
    tls = "tls: {cert: server.pem, key: server.key, client_ca: ca.pem}\n"
    with running_intake(tmp_path, source=tls) as intake:
        url = intake.url.replace("http://", "https://") + "/v1/events"
        headers = {"Authorization": f"Bearer {TOKENS['alice']}"}
        answer = requests.post(
            url,
            json={"type": "server.rebooted", "host": "tls1"},
            headers=headers,
            verify=str(tmp_path / "ca.pem"),
            cert=(str(tmp_path / "client.pem"), str(tmp_path / "client.key")),
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        # No client certificate: the handshake fails (TLS 1.3: the client may only see the
        # connection closed, not an alert).
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(url, json={"type": "server.rebooted"}, headers=headers,
                          verify=str(tmp_path / "ca.pem"), timeout=30)  # fmt: skip
        assert intake.texts() == ["tls1 rebooted (from alice)"]
    # The server's side of the TLS connections is closed at stop, without waiting for the
    # clients' close_notify (uvicorn would log that its graceful shutdown timed out).
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")], caplog.text
