"""The http source: the intake served by uvicorn (see ``server``), plain or with TLS."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from ruleengine.errors import RuleEngineError
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.http.counts import Tally
from ruleengine.sources.http.guard import Clients, Pace
from ruleengine.sources.http.intake import Intake
from ruleengine.sources.http.keys import Keys
from ruleengine.sources.http.parse import Limits
from ruleengine.sources.http.server import Server, listen

log = logging.getLogger(__name__)


class HttpSource:
    def __init__(self, settings: Any, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.context = context
        self.address: tuple[str, int] | None = None  # where it listens, once started
        self._server: Server | None = None
        self._intake: Intake | None = None

    def start(self, emit: Emit) -> None:
        s = self.settings
        intake = Intake(
            self.name,
            emit,
            clients=Clients({name: c.token for name, c in s.clients.items()}, s.anonymous),
            pace=Pace(s.rate, s.burst),
            keys=Keys(self.context.positions, s.idempotency_window),
            limits=Limits.of(s),
            max_body=s.max_body,
            ack_timeout=s.ack_timeout,
            tally=Tally(self.name, ""),  # replaced once listening, before any request
        )
        try:
            sock = listen(s.address, s.port)
        except OSError as exc:
            raise RuleEngineError(
                f"http source {self.name}: cannot listen on {s.address}:{s.port}: "
                f"{exc.strerror or exc}"
            ) from None
        try:
            server = Server(
                intake, sock, name=self.name, concurrent=s.threads, tls=self._tls(s.tls)
            )
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise RuleEngineError(
                f"http source {self.name}: cannot load TLS files: {exc}"
            ) from None
        host, port = sock.getsockname()[:2]
        self.address = (str(host), int(port))
        scheme = "https" if s.tls is not None else "http"
        shown = f"[{host}]" if ":" in str(host) else str(host)
        intake.tally = Tally(self.name, f"{scheme}://{shown}:{port}")
        try:
            server.start()
        except OSError as exc:
            raise RuleEngineError(f"http source {self.name}: {exc}") from None
        self._server, self._intake = server, intake
        intake.ready.set()
        intake.report(now=True)  # status shows where it listens before the first request
        log.info("http source %s listening on %s://%s:%d", self.name, scheme, host, port)

    def _tls(self, tls: Any) -> tuple[str, str, str | None] | None:
        if tls is None:
            return None
        resolve = self.context.resolve
        client_ca = str(resolve(tls.client_ca)) if tls.client_ca else None
        return str(resolve(tls.cert)), str(resolve(tls.key)), client_ca

    def stop(self) -> None:
        if self._intake is not None:
            self._intake.ready.clear()  # /readyz says so, and new posts get 503
        if self._server is not None:
            self._server.stop()
        if self._intake is not None and self._server is not None:
            self._intake.report(now=True)  # the last figures, before the engine stops
        self._server = None
