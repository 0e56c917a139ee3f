"""A real SMTP server (aiosmtpd) on loopback, in a thread, that records and answers as scripted.

Email tests talk to this instead of mocking smtplib: real sockets, real SMTP, real TLS.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes  # the DATA exactly as it came over the wire (CRLF, dot-unstuffed)
    options: list[str]  # MAIL FROM parameters, e.g. BODY=8BITMIME


class Handler:
    """Accepts everything unless told to refuse recipients or data."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.refuse_rcpt: dict[str, str] = {}  # address -> SMTP reply
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        wire = envelope.original_content or b""
        parsed = message_from_bytes(wire.replace(b"\r\n", b"\n"), policy=policy.default)
        with self.lock:
            self.mails.append(
                Mail(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    parsed,
                    wire,
                    list(envelope.mail_options),
                )
            )
        return "250 Message accepted"


class Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self.username
            and data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command line."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class SmtpServer:
    """``with SmtpServer() as s:`` → ``s.port``; read ``s.handler.mails``."""

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
        eight_bit: bool = True,
    ) -> None:
        """``eight_bit=False`` makes a 7-bit-only server: no 8BITMIME in its EHLO reply."""
        self.handler = Handler()
        self.port = free_port()
        context = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
        kwargs: dict[str, Any] = {}
        if auth is not None:
            kwargs.update(
                authenticator=Authenticator(*auth),
                auth_required=True,
                auth_require_tls=tls is not None,
            )
        if context is not None and implicit_tls:
            kwargs["ssl_context"] = context
        elif context is not None:
            kwargs.update(tls_context=context, require_starttls=True)
        if not eight_bit:
            # aiosmtpd advertises 8BITMIME only when it hands over undecoded bytes.
            kwargs["decode_data"] = True
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def mails(self) -> list[Mail]:
        with self.handler.lock:
            return list(self.handler.mails)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
