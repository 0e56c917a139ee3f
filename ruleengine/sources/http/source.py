"""The http source: the intake served by cheroot's thread pool, plain or with TLS.

cheroot (threads, not asyncio: a worker simply blocks until its batch is committed) was
measured against waitress and aiohttp; see the commit that added it.
"""

from __future__ import annotations

import logging
import ssl
import threading
import warnings
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from ruleengine.errors import RuleEngineError
from ruleengine.sources.base import Emit, SourceContext
from ruleengine.sources.http.counts import Tally
from ruleengine.sources.http.guard import Clients, Pace
from ruleengine.sources.http.intake import Intake
from ruleengine.sources.http.keys import Keys
from ruleengine.sources.http.parse import Limits

log = logging.getLogger(__name__)
ACCEPT_BACKLOG = 128  # cheroot's default (5) resets connections under 50 concurrent clients
STOP_TIMEOUT = 5  # seconds


class HttpSource:
    def __init__(self, settings: Any, context: SourceContext) -> None:
        self.name = context.name
        self.settings = settings
        self.context = context
        self.address: tuple[str, int] | None = None  # where it listens, once started
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None
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
        server = wsgi.Server(
            (s.address, s.port),
            intake,
            numthreads=s.threads,
            server_name="ruleengine",
            request_queue_size=ACCEPT_BACKLOG,
            shutdown_timeout=STOP_TIMEOUT,
        )
        server.max_request_header_size = 64 * 1024
        server.error_log = self._error_log  # type: ignore[method-assign]
        scheme = "http"
        if s.tls is not None:
            server.ssl_adapter = self._tls(s.tls)
            scheme = "https"
        failure = _bind(server)
        if failure is not None:
            raise RuleEngineError(
                f"http source {self.name}: cannot listen on {s.address}:{s.port}: {failure}"
            )
        host, port = server.bind_addr[:2]
        self.address = (str(host), int(port))
        shown = f"[{host}]" if ":" in str(host) else str(host)
        intake.tally = Tally(self.name, f"{scheme}://{shown}:{port}")
        self._server, self._intake = server, intake
        self._thread = threading.Thread(target=server.serve, name=f"http-{self.name}", daemon=True)
        self._thread.start()
        intake.ready.set()
        intake.report(now=True)  # status shows where it listens before the first request
        log.info("http source %s listening on %s://%s:%d", self.name, scheme, host, port)

    def _tls(self, tls: Any) -> BuiltinSSLAdapter:
        resolve = self.context.resolve
        try:
            adapter = BuiltinSSLAdapter(
                str(resolve(tls.cert)),
                str(resolve(tls.key)),
                str(resolve(tls.client_ca)) if tls.client_ca else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise RuleEngineError(
                f"http source {self.name}: cannot load TLS files: {exc}"
            ) from None
        if tls.client_ca:
            adapter.context.verify_mode = ssl.CERT_REQUIRED
        return adapter

    def _error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        """cheroot's complaints (bad requests, TLS handshakes) go to our log, quietly."""
        log.log(
            logging.DEBUG if level < logging.ERROR else logging.WARNING,
            "http %s: %s",
            self.name,
            msg.strip(),
            exc_info=traceback and level >= logging.ERROR,
        )

    def stop(self) -> None:
        if self._intake is not None:
            self._intake.ready.clear()  # /readyz says so, and new posts get 503
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        if self._intake is not None and self._server is not None:
            self._intake.report(now=True)  # the last figures, before the engine stops
        self._server = self._thread = None


def _bind(server: wsgi.Server) -> str | None:
    """Bind and listen; why not, if it failed. cheroot drops the socket whose bind failed
    without closing it: it is freed with the exception, here, without a ResourceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            server.prepare()
        except OSError as exc:
            return str(exc.strerror or exc)
    return None
