"""A real Matrix homeserver (matrix-synapse with SQLite) as a subprocess, for the matrix sender.

Synapse is heavy, so it lives in its own virtualenv: ``.venv-synapse`` at the repository root
(``.ci/run`` creates it), or the Python named by ``RULEENGINE_SYNAPSE_PYTHON``. Without either
the tests skip and say how to get it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
# Few messages per user before M_LIMIT_EXCEEDED; the "fast" user is exempted by the admin API.
RATE = {"per_second": 0.2, "burst_count": 3}


def synapse_python() -> Path | None:
    named = os.environ.get("RULEENGINE_SYNAPSE_PYTHON")
    candidates = [Path(named)] if named else []
    candidates.append(ROOT / ".venv-synapse" / "bin" / "python")
    for python in candidates:
        if python.is_file():
            return python
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class User:
    user_id: str
    token: str


class Synapse:
    """``start()`` a homeserver on loopback; ``register()`` users; read rooms; ``stop()``."""

    def __init__(self, python: Path, directory: Path) -> None:
        self.python, self.directory = python, directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "synapse.log"

    def config(self) -> str:
        d = self.directory
        return f"""
server_name: "localhost"
pid_file: {d}/homeserver.pid
listeners:
  - {{port: {self.port}, bind_addresses: ["127.0.0.1"], type: http, tls: false,
      resources: [{{names: [client], compress: false}}]}}
database: {{name: sqlite3, args: {{database: {d}/homeserver.db}}}}
media_store_path: {d}/media
signing_key_path: {d}/signing.key
registration_shared_secret: "{self.secret}"
macaroon_secret_key: "{secrets.token_hex(16)}"
form_secret: "{secrets.token_hex(16)}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
enable_metrics: false
rc_message: {{per_second: {RATE["per_second"]}, burst_count: {RATE["burst_count"]}}}
rc_registration: {{per_second: 100, burst_count: 100}}
rc_login:
  address: {{per_second: 100, burst_count: 100}}
  account: {{per_second: 100, burst_count: 100}}
"""

    def start(self, timeout: float = 120.0) -> None:
        config = self.directory / "homeserver.yaml"
        config.write_text(self.config())
        command = [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)]
        subprocess.run([*command, "--generate-keys"], check=True, capture_output=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/_matrix/client/versions", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"synapse did not start in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        reply = requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        reply.raise_for_status()
        return reply.json()

    def register(self, name: str, admin: bool = False) -> User:
        """A user through the shared-secret admin API (what register_new_matrix_user does)."""
        nonce = self.call("GET", "/_synapse/admin/v1/register")["nonce"]
        password = secrets.token_hex(8)
        body = {
            "nonce": nonce,
            "username": name,
            "password": password,
            "admin": admin,
            "mac": _mac(self.secret, nonce, name, password, admin),
        }
        reply = self.call("POST", "/_synapse/admin/v1/register", json=body)
        return User(reply["user_id"], reply["access_token"])

    def unlimited(self, admin: User, user: User) -> None:
        """Exempt ``user`` from message rate limits (most tests send many in a row)."""
        self.call(
            "POST",
            f"/_synapse/admin/v1/users/{user.user_id}/override_ratelimit",
            admin.token,
            json={"messages_per_second": 0, "burst_count": 0},
        )

    def create_room(self, user: User) -> str:
        return str(
            self.call("POST", "/_matrix/client/v3/createRoom", user.token, json={})["room_id"]
        )

    def messages(self, user: User, room_id: str) -> list[dict[str, Any]]:
        """The room's m.room.message events, oldest first."""
        reply = self.call(
            "GET",
            f"/_matrix/client/v3/rooms/{room_id}/messages",
            user.token,
            params={"dir": "b", "limit": "100"},
        )
        events = [e for e in reply["chunk"] if e["type"] == "m.room.message"]
        return list(reversed(events))


def _mac(secret: str, nonce: str, name: str, password: str, admin: bool) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(nonce.encode() + b"\x00" + name.encode() + b"\x00" + password.encode() + b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    return mac.hexdigest()


class DroppingProxy:
    """A loopback TCP proxy to ``upstream`` that, while ``drop`` is set, forwards the request
    but closes the client's connection as soon as the server starts answering: the server has
    done the work, the client never hears of it (a connection lost after the event was stored).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop = True
        self.dropped = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.handlers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, name="dropping-proxy", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            handler = threading.Thread(target=self._handle, args=(client,), daemon=True)
            self.handlers.append(handler)
            handler.start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        pump = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
        pump.start()
        try:
            while chunk := upstream.recv(65536):
                if self.drop:
                    self.dropped += 1
                    break
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        pump.join(5)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() below on Linux
        self.server.close()
        self.thread.join(10)
        for handler in self.handlers:
            handler.join(10)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass


def install_hint() -> str:
    return (
        "matrix-synapse is not installed: create it with "
        f"'{sys.executable} -m venv .venv-synapse && .venv-synapse/bin/pip install matrix-synapse'"
        " (.ci/run does this), or set RULEENGINE_SYNAPSE_PYTHON"
    )
