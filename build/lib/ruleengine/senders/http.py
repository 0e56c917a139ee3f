"""The one HTTP helper every web sender composes: timeouts, redaction, outcome classification."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from ruleengine import __version__
from ruleengine.model import Delivered, Outcome, Permanent, Retry
from ruleengine.redact import MASK, Redactor, redact_url

USER_AGENT = f"ruleengine/{__version__}"
CONNECT_TIMEOUT = 5.0
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


@dataclass(frozen=True)
class HttpRequest:
    """One request a sender wants made: what ``send`` does and what ``preview`` shows.

    ``url_secret`` says the URL is the credential (webhooks), so previews show only its host;
    values of ``secret_headers`` are masked in previews (their scheme word is kept).
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    data: Mapping[str, str] | bytes | None = None
    url_secret: bool = True
    secret_headers: frozenset[str] = frozenset({"authorization"})
    notes: Mapping[str, Any] = field(default_factory=dict)  # more for previews to show

    def secret_values(self) -> list[str]:
        """Credentials in the headers (scheme word dropped): for the redactor."""
        return [
            value.partition(" ")[2] or value
            for key, value in self.headers.items()
            if key.lower() in self.secret_headers
        ]

    def preview(self) -> dict[str, Any]:
        """The request as ``ruleengine test`` shows it: secrets masked, body exact."""
        shown: dict[str, Any] = {
            "method": self.method,
            "url": redact_url(self.url) if self.url_secret else self.url,
            "headers": {key: self._masked(key, value) for key, value in self.headers.items()},
        }
        if self.json is not None:
            shown["json"] = self.json
        if isinstance(self.data, bytes):
            shown["data"] = self.data.decode("utf-8", "replace")
        elif self.data is not None:
            shown["form"] = dict(self.data)
        return {**shown, **self.notes}

    def _masked(self, key: str, value: str) -> str:
        if key.lower() not in self.secret_headers:
            return value
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {MASK}" if rest and scheme.isalpha() and len(scheme) < 10 else MASK


Check = Callable[[Response, Redactor], Outcome]


class HttpClient:
    """A ``requests.Session`` with explicit timeouts whose errors never leak secrets."""

    def __init__(self, redactor: Redactor, timeout: float = 10.0) -> None:
        self.redactor = redactor
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = True

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response | Retry:
        """Make one request: a Response, or Retry for connection problems and timeouts."""
        try:
            reply = self.session.request(
                method,
                url,
                json=json_body,
                data=data,
                headers=dict(headers or {}),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            return Retry("timed out")
        except requests.ConnectionError as exc:
            return Retry(self.redactor(f"connection failed: {_root_cause(exc)}"))
        except requests.RequestException as exc:
            return Retry(self.redactor(f"request failed: {type(exc).__name__}: {exc}"))
        return Response(reply.status_code, reply.headers, reply.text[:65536])

    def send(self, request: HttpRequest, check: Check | None = None) -> Outcome:
        """Make ``request`` once and classify the answer (``check`` defaults to ``classify``)."""
        reply = self.request(
            request.method,
            request.url,
            json_body=request.json,
            data=request.data,
            headers=request.headers,
        )
        if isinstance(reply, Retry):
            return reply
        return (check or classify)(reply, self.redactor)

    def close(self) -> None:
        self.session.close()


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


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests error ("Connection refused"), without the URL."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen)
    if "Errno" in text:
        return text[text.index("[Errno") :].rstrip(")'\"")
    return type(seen).__name__
