"""Mail through SMTP (STARTTLS, SSL or plain; optional AUTH): the classic fallback for rooms.

SMTP's own classes decide the outcome: 4xx replies, disconnects and network errors are
transient (Retry), 5xx replies and certificate failures are permanent. A message some
recipients accepted counts as delivered (retrying would send it to those again), with a
warning that reaches the log and ``status``.

The message is flattened with ``policy.SMTP`` (CRLF, no ``>From`` mangling). An 8-bit body
travels as ``BODY=8BITMIME`` when the server offers it (RFC 6152), else quoted-printable.
The Message-ID is ``<outbox id@fqdn>``: the same on every attempt.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from functools import cache
from typing import Any

from ruleengine.colors import to_hex
from ruleengine.config.destinations import EmailDestination
from ruleengine.model import Delivered, Notification, Outcome, Permanent, Retry
from ruleengine.redact import Redactor, credentials
from ruleengine.senders import SenderContext
from ruleengine.senders.common import first_line, one_line, truncate
from ruleengine.senders.text import HTML, escape_html, render

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
SUBJECT_CHARS = 120
BODY_CHARS = 1_000_000  # mail servers commonly refuse messages over 10 MB; a log dump is not mail
LINE_BYTES = 998  # RFC 5321: longer lines cannot travel as 8bit


@cache
def fqdn() -> str:
    """This host's fully qualified name: relays reject ``@localhost`` senders and ids.

    ``getfqdn`` answers ``localhost`` where /etc/hosts maps the host name there; the host
    name itself is then the better guess.
    """
    name = socket.getfqdn()
    if name.startswith("localhost") or name in {"", "ip6-localhost"}:
        name = socket.gethostname() or name
    return name


class EmailSender:
    default_rate: float | None = None

    def __init__(self, settings: EmailDestination, context: SenderContext) -> None:
        self.settings = settings
        self.redactor = context.redactor
        self.redactor.add(*credentials(settings))
        self.port = settings.port or DEFAULT_PORTS[settings.security]
        self.sender = settings.from_ or f"ruleengine@{fqdn()}"

    def subject(self, notification: Notification) -> str:
        head = notification.title or first_line(notification.text, SUBJECT_CHARS)
        # One line: a line break from a template must not start a new header (Bcc: …).
        return one_line(self.settings.subject_prefix + (head or notification.rule), SUBJECT_CHARS)

    def message(self, notification: Notification, eight_bit: bool = True) -> EmailMessage:
        """The mail; ``eight_bit`` says the server takes 8-bit bodies (else quoted-printable)."""
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = self.sender
        message["To"] = ", ".join(self.settings.to)
        message["Subject"] = self.subject(notification)
        message["Date"] = formatdate(notification.created or time.time(), localtime=True)
        # Stable per notification: a resend after a lost reply threads as the same message.
        message["Message-ID"] = f"<{notification.id}@{fqdn()}>"
        if notification.notify:
            message["Importance"] = "high"
            message["X-Priority"] = "1"
        # Lone surrogates (undecodable log bytes) cannot be encoded: show them as "?".
        text = truncate(notification.text, BODY_CHARS).encode("utf-8", "replace").decode()
        message.set_content(text, cte=_transfer_encoding(text, eight_bit))
        bar = to_hex(notification.color, notification.id)
        body = render(text, notification.format, HTML)
        if notification.title:
            body = f"<b>{escape_html(notification.title)}</b><br>{body}"
        html = f'<div style="border-left:6px solid {bar};padding-left:10px">{body}</div>'
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html, eight_bit))
        return message

    def preview(self, notification: Notification) -> dict[str, Any]:
        message = self.message(notification)
        return {
            "smtp": f"{self.settings.host}:{self.port}",
            "security": self.settings.security,
            "auth": self.settings.username is not None,
            "from": self.sender,
            "to": list(self.settings.to),
            "subject": message["Subject"],
            "body": truncate(notification.text, BODY_CHARS),
        }

    def _tls(self) -> ssl.SSLContext:
        # Certificates are always verified; a private CA is trusted through ca_file instead.
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(
                settings.host, self.port, timeout=settings.timeout, context=self._tls()
            )
        client = smtplib.SMTP(settings.host, self.port, timeout=settings.timeout)
        try:
            if settings.security == "starttls":
                client.starttls(context=self._tls())
        except BaseException:
            client.close()
            raise
        return client

    def send(self, notification: Notification) -> Outcome:
        try:
            refused = self._transact(notification)
        except _Unbuildable as exc:  # text no mail can carry: retrying won't help
            return Permanent(self.redactor(f"cannot build the mail: {exc.__cause__}"))
        except (smtplib.SMTPException, OSError) as exc:
            return _failure(exc, self.redactor)
        if refused:
            details = "; ".join(
                f"{who}: {_reply(code, text, self.redactor).reason}"
                for who, (code, text) in refused.items()
            )
            return Delivered(warning=self.redactor(f"refused by some recipients: {details}"))
        return Delivered("accepted by SMTP server")

    def _transact(self, notification: Notification) -> dict[str, tuple[int, bytes]]:
        """One SMTP session; returns the recipients refused while others accepted."""
        with self._connect() as client:
            client.ehlo_or_helo_if_needed()
            if self.settings.username is not None and self.settings.password is not None:
                client.login(self.settings.username, self.settings.password)
            eight_bit = client.has_extn("8bitmime")
            try:
                message = self.message(notification, eight_bit)
                data = message.as_bytes(policy=policy.SMTP)
            except (ValueError, UnicodeError) as exc:
                raise _Unbuildable from exc
            options = ["BODY=8BITMIME"] if eight_bit and not data.isascii() else []
            return client.sendmail(self.sender, list(self.settings.to), data, options)

    def close(self) -> None:
        """Each send opens its own connection: nothing kept between messages."""


class _Unbuildable(Exception):
    """The notification cannot be made into a mail (raised from the encoding error)."""


def _transfer_encoding(text: str, eight_bit: bool) -> str:
    """7bit for ASCII; 8bit when the server takes it and lines fit; else quoted-printable."""
    if text.isascii() and all(len(line) <= LINE_BYTES for line in text.splitlines()):
        return "7bit"
    fits = all(len(line.encode()) <= LINE_BYTES for line in text.splitlines())
    return "8bit" if eight_bit and fits else "quoted-printable"


def _failure(exc: smtplib.SMTPException | OSError, redactor: Redactor) -> Permanent | Retry:
    """SMTP reply classes decide; a server lacking a feature we need is a settings problem."""
    if isinstance(exc, ssl.SSLCertVerificationError):  # a wrong CA or host name stays wrong
        return Permanent(
            redactor(
                f"TLS certificate of the SMTP server not accepted ({exc.verify_message}); "
                "check host, or trust a private CA with ca_file"
            )
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused(exc.recipients, redactor)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error, redactor)
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. no STARTTLS or AUTH offered
        return Permanent(redactor(f"SMTP server does not support it: {exc}"))
    # Disconnects, refused connections, timeouts, TLS failures: worth another try.
    return Retry(redactor(f"SMTP {type(exc).__name__}: {exc}".rstrip(": ")))


def _reply(code: int, error: bytes | str, redactor: Redactor) -> Permanent | Retry:
    """4xx is transient, 5xx permanent (RFC 5321 reply classes)."""
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    reason = redactor(f"SMTP {code} {' '.join(text.split())}")
    return Permanent(reason) if 500 <= code < 600 else Retry(reason)


def _refused(recipients: dict[str, tuple[int, bytes]], redactor: Redactor) -> Permanent | Retry:
    """Every recipient refused: permanent only if every refusal was permanent."""
    outcomes = [_reply(code, text, redactor) for code, text in recipients.values()]
    details = (f"{who}: {o.reason}" for who, o in zip(recipients, outcomes, strict=True))
    reason = "all recipients refused: " + "; ".join(details)
    if all(isinstance(outcome, Permanent) for outcome in outcomes):
        return Permanent(reason)
    return Retry(reason)
