"""How a service's HTTP reply becomes an outcome: 2xx delivered, 408/429/5xx retried after the
wait the service asked for (``Retry-After``, body ``retry_after``, ``X-*-Reset`` headers),
anything else permanent, with a short reason from the service's own error body."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ruleengine.model import Delivered, Outcome, Permanent, Retry
from ruleengine.redact import Redactor

_BODY_SNIPPET = 200


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


Check = Callable[[Response, Redactor], Outcome]


def classify(response: Response, redactor: Redactor, now: float | None = None) -> Outcome:
    """The universal classification: 2xx delivered; 408/429/5xx retry; other codes permanent."""
    status = response.status
    if 200 <= status < 300:
        return Delivered(f"HTTP {status}")
    detail = redactor(error_detail(response))
    reason = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in {429, 408} or status >= 500:
        return Retry(reason, retry_after(response, now))
    return Permanent(reason)


def classify_ref(key: str) -> Check:
    """``classify``, keeping the id the service gave the message (``key`` of its JSON reply:
    Discord's ``id`` with ``?wait=true``, Matrix's ``event_id``)."""

    def check(response: Response, redactor: Redactor) -> Outcome:
        outcome = classify(response, redactor)
        body = response.json() if isinstance(outcome, Delivered) else None
        ref = body.get(key) if isinstance(body, dict) else None
        if isinstance(outcome, Delivered) and isinstance(ref, str) and ref:
            return dataclasses.replace(outcome, ref=ref)
        return outcome

    return check


def error_detail(response: Response) -> str:
    """A short reason from the services' error bodies, else the start of the body text.

    Shapes: HipChat/Google ``{"error": {...}}``, Matrix ``errcode``, Discord ``code``+``message``,
    Zulip ``result: error``, Rocket.Chat ``success: false``; Slack's are plain strings.
    """
    body = response.json()
    parts: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            parts = [error.get("status") or error.get("type"), error.get("message")]
        elif "errcode" in body:
            parts = [body.get("errcode"), body.get("error")]
        elif "code" in body and "message" in body:
            parts = [f"code {body['code']}", body.get("message")]
        elif body.get("result") == "error":
            parts = [body.get("code"), body.get("msg")]
        elif body.get("success") is False:
            parts = [error or body.get("message") or "success: false"]
    text = ": ".join(str(part) for part in parts if part not in (None, ""))
    return " ".join((text or response.text).split())[:_BODY_SNIPPET]


def retry_after(response: Response, now: float | None = None) -> float | None:
    """Seconds the service asked us to wait: Retry-After, body retry_after(_ms), X-*-Reset."""
    now = time.time() if now is None else now
    for reader in (_header_retry_after, _body_retry_after, _reset_headers):
        wait = reader(response, now)
        if wait is not None:
            return max(0.0, wait)
    return None


def _header_retry_after(response: Response, now: float) -> float | None:
    header = (response.headers.get("Retry-After") or "").strip()
    if not header:
        return None
    try:
        return float(header)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(header).timestamp() - now
    except (TypeError, ValueError):
        return None


def _body_retry_after(response: Response, _now: float) -> float | None:
    body = response.json()
    if not isinstance(body, dict):
        return None
    for key, scale in (("retry_after_ms", 0.001), ("retry_after", 1.0), ("retry-after", 1.0)):
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) * scale
    return None


def _reset_headers(response: Response, now: float) -> float | None:
    """``X-*-Reset-After`` (seconds) or ``X-*-Reset`` (epoch seconds, or seconds if small).

    With several reset headers (HipChat sends rate-limit and flood-control ones) the latest wins:
    sending before it would only earn another 429.
    """
    relative: float | None = None
    absolute: float | None = None
    for name, value in response.headers.items():
        lower = name.lower()
        if not lower.startswith("x-"):
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if lower.endswith("-reset-after"):
            relative = max(number, relative or 0.0)
        elif lower.endswith("-reset"):
            wait = number - now if number > 1e9 else number
            absolute = max(wait, absolute or 0.0)
    return relative if relative is not None else absolute
