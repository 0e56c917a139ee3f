"""Email through a real aiosmtpd server on loopback: message content, TLS, auth, SMTP classes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ruleengine.dispatch import Route
from ruleengine.model import Delivered, Permanent, Retry
from ruleengine.redact import Redactor
from ruleengine.senders import Sender
from ruleengine.senders.mail import fqdn
from ruleengine.state import Store
from ruleengine.state.report import destination_status
from tests.support.dispatch_helpers import enqueue, running
from tests.support.dispatch_helpers import note as queued
from tests.support.outbox import rows_by_text
from tests.support.poll import eventually
from tests.support.senders import make, note, settings_for
from tests.support.smtp import SmtpServer, free_port, self_signed

PASSWORD = "mail-p4ssw0rd-secret"  # noqa: S105 - fake


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _mailer(port: int, **extra: Any) -> Sender:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "ruleengine@example.org",
        "to": ["ops@example.org", "oncall@example.org"],
        "timeout": 5,
    }
    values.update(extra)
    return make("email", **values)


def _send(sender: Sender, **note_values: Any) -> Any:
    try:
        return sender.send(note(**note_values))
    finally:
        sender.close()


def test_message_arrives_with_subject_body_from_and_to(smtp: SmtpServer) -> None:
    outcome = _send(_mailer(smtp.port), text="web1 disk 97%\nsecond line", color="red")
    assert outcome == Delivered("accepted by SMTP server")
    (mail,) = smtp.mails
    assert mail.sender == "ruleengine@example.org"
    assert mail.recipients == ["ops@example.org", "oncall@example.org"]
    message = mail.message
    assert message["Subject"] == "[ruleengine] web1 disk 97%"
    assert message["From"] == "ruleengine@example.org"
    assert message["To"] == "ops@example.org, oncall@example.org"
    assert note().id in message["Message-ID"]
    assert message.get_body(("plain",)).get_content() == "web1 disk 97%\nsecond line\n"
    html = message.get_body(("html",)).get_content()
    assert "#d00000" in html
    assert "web1 disk 97%<br>second line" in html
    assert message["Importance"] is None


def test_title_is_the_subject_and_notify_marks_importance(smtp: SmtpServer) -> None:
    _send(_mailer(smtp.port, subject_prefix=""), text="body", title="Backup failed", notify=True)
    (mail,) = smtp.mails
    assert mail.message["Subject"] == "Backup failed"
    assert mail.message["Importance"] == "high"


def _tls_login(port: int, ca: Path, password: str) -> Sender:
    return _mailer(port, security="starttls", ca_file=str(ca), username="bot", password=password)


def test_auth_login_then_send(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(tls=certificate, auth=("bot", PASSWORD)) as server:
        outcome = _send(_tls_login(server.port, certificate[0], PASSWORD))
        assert isinstance(outcome, Delivered)
        assert len(server.mails) == 1


def test_wrong_password_is_permanent_and_not_shown(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(tls=certificate, auth=("bot", PASSWORD)) as server:
        outcome = _send(_tls_login(server.port, certificate[0], PASSWORD + "x"))
        assert isinstance(outcome, Permanent)
        assert outcome.reason.startswith("SMTP 535")
        assert PASSWORD not in outcome.reason
        assert server.mails == []


def test_starttls_with_a_private_ca(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(tls=certificate) as server:
        sender = _mailer(server.port, security="starttls", ca_file=str(certificate[0]))
        assert isinstance(_send(sender), Delivered)
        assert len(server.mails) == 1


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(tls=certificate, implicit_tls=True) as server:
        sender = _mailer(server.port, security="ssl", ca_file=str(certificate[0]))
        assert isinstance(_send(sender), Delivered)
        assert len(server.mails) == 1


def test_an_untrusted_certificate_is_a_permanent_settings_error(
    certificate: tuple[Path, Path],
) -> None:
    """A wrong CA stays wrong: dead letter and fallback now, not 24 hours of retries."""
    with SmtpServer(tls=certificate) as server:
        outcome = _send(_mailer(server.port, security="starttls"))
        assert isinstance(outcome, Permanent)
        assert "certificate" in outcome.reason.lower() and "ca_file" in outcome.reason
        assert server.mails == []


def test_a_certificate_for_another_host_is_permanent(certificate: tuple[Path, Path]) -> None:
    """The certificate names 127.0.0.1 (see the fixture), so "localhost" does not match it."""
    with SmtpServer(tls=certificate) as server:
        sender = _mailer(
            server.port, security="starttls", ca_file=str(certificate[0]), host="localhost"
        )
        outcome = _send(sender)
        assert isinstance(outcome, Permanent), outcome
        assert "certificate" in outcome.reason.lower()
        assert server.mails == []


def test_starttls_not_offered_is_permanent(smtp: SmtpServer) -> None:
    outcome = _send(_mailer(smtp.port, security="starttls"))
    assert isinstance(outcome, Permanent)
    assert "STARTTLS" in outcome.reason


@pytest.mark.parametrize(
    ("reply", "outcome_type"),
    [
        ("554 5.7.1 Message rejected as spam", Permanent),
        ("552 5.3.4 Message too big", Permanent),
        ("451 4.3.0 Temporary failure, try later", Retry),
        ("421 4.7.0 Too many connections", Retry),
    ],
)
def test_data_replies_are_classified_by_smtp_class(
    reply: str, outcome_type: type, smtp: SmtpServer
) -> None:
    smtp.handler.data_reply = reply
    outcome = _send(_mailer(smtp.port))
    assert isinstance(outcome, outcome_type)
    assert outcome.reason == "SMTP " + reply


def test_all_recipients_refused_permanently_is_permanent(smtp: SmtpServer) -> None:
    smtp.handler.refuse_rcpt = {
        "ops@example.org": "550 5.1.1 No such user",
        "oncall@example.org": "550 5.1.1 No such user",
    }
    outcome = _send(_mailer(smtp.port))
    assert isinstance(outcome, Permanent)
    assert "ops@example.org: SMTP 550 5.1.1 No such user" in outcome.reason


def test_a_temporary_recipient_refusal_is_retried(smtp: SmtpServer) -> None:
    smtp.handler.refuse_rcpt = {
        "ops@example.org": "550 5.1.1 No such user",
        "oncall@example.org": "450 4.2.1 Mailbox busy",
    }
    assert isinstance(_send(_mailer(smtp.port)), Retry)


def test_partly_accepted_counts_as_delivered(smtp: SmtpServer) -> None:
    """Retrying would mail the accepted recipient twice."""
    smtp.handler.refuse_rcpt = {"oncall@example.org": "550 5.1.1 No such user"}
    outcome = _send(_mailer(smtp.port))
    assert isinstance(outcome, Delivered)
    assert outcome.warning == (
        "refused by some recipients: oncall@example.org: SMTP 550 5.1.1 No such user"
    )
    assert smtp.mails[0].recipients == ["ops@example.org"]


def test_connection_refused_is_retried() -> None:
    outcome = _send(_mailer(free_port()))
    assert isinstance(outcome, Retry)
    assert "refused" in outcome.reason.lower()


def test_preview_shows_the_mail_without_the_password() -> None:
    preview = _mailer(2525, username="bot", password=PASSWORD).preview(note(title="T"))
    assert preview == {
        "smtp": "127.0.0.1:2525",
        "security": "none",
        "auth": True,
        "from": "ruleengine@example.org",
        "to": ["ops@example.org", "oncall@example.org"],
        "subject": "[ruleengine] T",
        "body": "disk full on web1",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"to": ["not-an-address"]}, "expected an email address"),
        ({"to": []}, "at least 1"),
        ({"username": "bot"}, "set both username and password"),
        ({"to": ["a@b.c"], "security": "tls"}, "'starttls', 'ssl' or 'none'"),
    ],
)
def test_bad_settings_are_clear_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings_for("email", **{"host": "smtp.example.org", "to": ["a@b.c"], **values})


def test_default_ports_follow_security() -> None:
    for security, port in (("starttls", 587), ("ssl", 465), ("none", 25)):
        preview = make("email", host="h", to=["a@b.c"], security=security).preview(note())
        assert preview["smtp"] == f"h:{port}"


def test_line_breaks_in_a_title_do_not_break_the_subject(smtp: SmtpServer) -> None:
    outcome = _send(_mailer(smtp.port), title="Backup\r\nBcc: victim@example.org")
    assert isinstance(outcome, Delivered)
    (mail,) = smtp.mails
    assert mail.message["Subject"] == "[ruleengine] Backup Bcc: victim@example.org"
    assert mail.recipients == ["ops@example.org", "oncall@example.org"]


def test_undecodable_log_bytes_are_mailed_as_question_marks(smtp: SmtpServer) -> None:
    outcome = _send(_mailer(smtp.port), text="bad \udcff byte")
    assert isinstance(outcome, Delivered)
    assert smtp.mails[0].message.get_body(("plain",)).get_content() == "bad ? byte\n"


BODY = "From here the job went on\nrésumé ✓ café\n.\n.leading dot\nlast line"


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8bitmime", "7bit-only"])
def test_body_arrives_byte_faithful_with_and_without_8bitmime(eight_bit: bool) -> None:
    """policy.SMTP: no ``>From``; 8BITMIME only when offered, quoted-printable otherwise."""
    with SmtpServer(eight_bit=eight_bit) as server:
        assert isinstance(_send(_mailer(server.port), text=BODY), Delivered)
        (mail,) = server.mails
    assert ("BODY=8BITMIME" in mail.options) is eight_bit
    assert b"\n>From" not in mail.raw and b"\r\nFrom here the job" in mail.raw
    if not eight_bit:
        assert mail.raw.isascii()
        assert b"Content-Transfer-Encoding: quoted-printable" in mail.raw
    else:
        assert "résumé ✓ café".encode() in mail.raw
    assert b"\r\n" in mail.raw and b"\n" not in mail.raw.replace(b"\r\n", b"")
    text = mail.message.get_body(("plain",))
    assert text is not None
    assert text.get_content().rstrip("\n") == BODY


def test_ascii_body_needs_no_8bitmime(smtp: SmtpServer) -> None:
    assert isinstance(_send(_mailer(smtp.port), text="all ascii"), Delivered)
    assert "BODY=8BITMIME" not in smtp.mails[0].options


def test_message_id_is_stable_across_attempts_and_fully_qualified(smtp: SmtpServer) -> None:
    first = _send(_mailer(smtp.port))
    second = _send(_mailer(smtp.port))
    assert isinstance(first, Delivered) and isinstance(second, Delivered)
    ids = [mail.message["Message-ID"] for mail in smtp.mails]
    assert ids[0] == ids[1] == f"<{note().id}@{fqdn()}>"


def test_default_sender_is_ruleengine_at_this_hosts_fqdn(smtp: SmtpServer) -> None:
    values = {"host": "127.0.0.1", "port": smtp.port, "security": "none", "to": "ops@example.org"}
    assert isinstance(_send(make("email", **values)), Delivered)
    assert smtp.mails[0].sender == f"ruleengine@{fqdn()}"
    assert smtp.mails[0].message["From"] == f"ruleengine@{fqdn()}"


def test_partial_refusal_is_a_warning_in_the_log_and_in_status(
    tmp_path: Path, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the real dispatcher and store: delivered, but the refusal is not lost."""
    smtp.handler.refuse_rcpt = {"oncall@example.org": "550 5.1.1 No such user"}
    settings = settings_for(
        "email", host="127.0.0.1", port=smtp.port, security="none",
        to=["ops@example.org", "oncall@example.org"],
    )  # fmt: skip
    redactor = Redactor()
    sender = make("email", **settings.model_dump(by_alias=True, exclude={"type"}))
    routes = {"mail": Route("mail", sender, settings.retry, None, None)}
    store = Store(tmp_path)
    with caplog.at_level("WARNING"), running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, queued("mail", "backup done"))
        eventually(
            lambda: rows_by_text(tmp_path).get("backup done", {}).get("state") == "delivered",
            what="the mail delivered",
        )
    store.close()
    assert "oncall@example.org: SMTP 550 5.1.1 No such user" in caplog.text
    with sqlite3.connect(tmp_path / "state.db") as conn:
        (status,) = destination_status(conn, ["mail"], redactor, time.time())
    assert status.last_error is not None and status.last_error.startswith("warning: refused")
