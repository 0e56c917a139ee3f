"""URL userinfo and echoed credentials (issue 14): previews, errors and logs never show them."""

from __future__ import annotations

import base64
import json

from ruleengine.redact import Redactor, credentials, header_secrets, redact_url, strip_userinfo
from ruleengine.senders.http import HttpRequest
from tests.support.senders import make, note, settings_for

PASSWORD = "pw-Userinfo-0042"  # noqa: S105 - a fake, to grep for
PAIR = base64.b64encode(f"bot:{PASSWORD}".encode()).decode()


def test_urls_lose_their_userinfo() -> None:
    assert redact_url(f"https://bot:{PASSWORD}@chat.example.com/hooks/x") == (
        "https://***@chat.example.com/***"
    )
    assert strip_userinfo(f"https://bot:{PASSWORD}@ntfy.example.com/topic") == (
        "https://***@ntfy.example.com/topic"
    )
    assert strip_userinfo("https://ntfy.example.com/topic") == "https://ntfy.example.com/topic"
    shown = Redactor()(f"POST https://bot:{PASSWORD}@chat.example.com failed")
    assert PASSWORD not in shown and "bot:" not in shown


def test_previews_of_urls_with_userinfo_hide_the_password() -> None:
    url = f"https://bot:{PASSWORD}@ntfy.example.com"
    request = HttpRequest("POST", url, url_secret=False)
    assert PASSWORD not in json.dumps(request.preview())
    for kind, values in (
        ("ntfy", {"url": url, "topic": "ops"}),
        ("webhook", {"url": f"{url}/hook"}),
        ("gotify", {"url": url, "token": "AbCdEf123456"}),
    ):
        shown = json.dumps(make(kind, **values).preview(note()))
        assert PASSWORD not in shown, (kind, shown)


def test_echoed_forms_of_a_pair_are_known_secrets() -> None:
    assert {PASSWORD, PAIR, PAIR.rstrip("=")} <= header_secrets(f"Basic {PAIR}")
    ntfy = settings_for("ntfy", url=f"https://bot:{PASSWORD}@ntfy.example.com", topic="ops")
    assert {PASSWORD, PAIR} <= credentials(ntfy)
    mail = settings_for(
        "email", host="smtp.example.com", to="a@example.com", username="bot", password=PASSWORD
    )
    auth_plain = base64.b64encode(f"\0bot\0{PASSWORD}".encode()).decode()
    assert {PASSWORD, PAIR, auth_plain} <= credentials(mail)
    echoed = f'{{"error": "denied Basic {PAIR} ({PASSWORD}) plain {auth_plain}"}}'
    shown = Redactor(credentials(mail))(echoed)
    assert PASSWORD not in shown and PAIR.rstrip("=") not in shown and auth_plain not in shown
