"""The one HTTP client every web sender composes: bounded attempts, redaction, the request a
sender wants made. Replies become outcomes in ``replies``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ruleengine import __version__
from ruleengine.model import Outcome, Retry
from ruleengine.redact import (
    MASK,
    Redactor,
    header_secrets,
    redact_url,
    strip_userinfo,
    userinfo_secrets,
)
from ruleengine.senders.deadline import REPLY_BYTES, TIMED_OUT, Deadline
from ruleengine.senders.pools import WatchedAdapter
from ruleengine.senders.replies import Check, Response, classify

USER_AGENT = f"ruleengine/{__version__}"
CONNECT_TIMEOUT = 5.0
_CHUNK = 16 * 1024


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

    def secret_values(self) -> set[str]:
        """Credentials in the headers and the URL's userinfo, in the forms a server may echo
        (a Basic pair decoded and encoded): for the redactor."""
        found = userinfo_secrets(self.url)
        for key, value in self.headers.items():
            if key.lower() in self.secret_headers:
                found |= header_secrets(value)
        return found

    def preview(self) -> dict[str, Any]:
        """The request as ``ruleengine test`` shows it: secrets masked, body exact."""
        shown: dict[str, Any] = {
            "method": self.method,
            "url": redact_url(self.url) if self.url_secret else strip_userinfo(self.url),
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


class HttpClient:
    """A ``requests.Session`` whose attempts are bounded and whose errors never leak secrets.

    ``timeout`` is the whole attempt (connect, send, read): a server trickling its reply is a
    timeout (``deadline.Deadline``). Replies are streamed and cut at ``REPLY_BYTES``.
    """

    def __init__(self, redactor: Redactor, timeout: float = 10.0) -> None:
        self.redactor = redactor
        self.attempt = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # The environment (HTTPS_PROXY/NO_PROXY, REQUESTS_CA_BUNDLE, ~/.netrc) is honoured as
        # requests does, but read once per host (``_environment``): requests re-read it on
        # every request, a scan of os.environ and two stat calls per delivery.
        self.session.trust_env = False
        self._environments: dict[tuple[str, str], dict[str, Any]] = {}
        adapter = WatchedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

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
        with Deadline(self.attempt) as deadline:
            try:
                reply = self.session.request(
                    method,
                    url,
                    json=json_body,
                    data=data,
                    headers=dict(headers or {}),
                    timeout=(min(CONNECT_TIMEOUT, self.attempt), self.attempt),
                    allow_redirects=False,
                    stream=True,
                    **self._environment(url),
                )
                try:
                    body = read_capped(reply, deadline)
                finally:
                    reply.close()
            except requests.RequestException as exc:
                return self._failure(exc, deadline)
            if body is None:
                return Retry(TIMED_OUT)
        return Response(reply.status_code, reply.headers, _decode(body, reply.encoding))

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies, CA bundle and client certificate from the environment, and ~/.netrc
        credentials, for ``url``'s host: what ``trust_env`` would add, read once per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._environments.get(key)
        if found is None:
            self.session.trust_env = True
            try:
                merged = self.session.merge_environment_settings(url, {}, True, None, None)
            finally:
                self.session.trust_env = False
            found = {k: merged[k] for k in ("proxies", "verify", "cert")}
            if parts.scheme == "http":  # no certificate to verify: spares a stat per request
                found["verify"] = True
            netrc = requests.utils.get_netrc_auth(url)
            if netrc is not None:
                found["auth"] = netrc
            self._environments[key] = found
        return found

    def _failure(self, exc: requests.RequestException, deadline: Deadline) -> Retry:
        """Timeouts (a socket's, or the attempt's: its sockets were shut) and connection
        problems: worth another try, described without the URL."""
        if isinstance(exc, requests.Timeout) or deadline.over():
            return Retry(TIMED_OUT)
        if isinstance(exc, requests.ConnectionError):
            return Retry(self.redactor(f"connection failed: {_root_cause(exc)}"))
        return Retry(self.redactor(f"request failed: {type(exc).__name__}: {exc}"))

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


def read_capped(reply: requests.Response, deadline: Deadline) -> bytes | None:
    """At most ``REPLY_BYTES`` of the (decoded) body, or None when the deadline passed first.

    ``read1`` returns what has arrived, so a trickle is seen between reads, not after the
    whole reply; the rest of a longer body is never read (the connection is then dropped).
    """
    body = bytearray()
    while len(body) < REPLY_BYTES:
        if deadline.over():
            return None
        chunk = reply.raw.read1(min(_CHUNK, REPLY_BYTES - len(body)), decode_content=True)
        if not chunk:
            break
        body += chunk
    return None if deadline.expired else bytes(body[:REPLY_BYTES])


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", "replace")


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests error ("Connection refused"), without the URL."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen)
    if "Errno" in text:
        return text[text.index("[Errno") :].rstrip(")'\"")
    return type(seen).__name__
