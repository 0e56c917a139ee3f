"""Apprise destinations, through Apprise's own json:// service against the loopback receiver.

Skipped when the optional ``apprise`` extra is not installed (it is not a core dependency).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from ruleengine.errors import ConfigError
from ruleengine.model import Delivered, Permanent, Retry
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext, apprise
from tests.support.receiver import Receiver, Reply
from tests.support.senders import make, note, settings_for

SECRET = "apprise-s3cret-path-value"  # noqa: S105 - fake


@pytest.fixture(scope="module", autouse=True)
def _apprise_pools_started() -> Iterator[None]:
    """Apprise keeps process-wide worker pools on purpose (reused by every notify); they are
    not a leak of ours. Start all their workers before the per-test thread-leak guard looks."""
    try:
        pools = importlib.import_module("apprise.apprise")
    except ImportError:
        yield
        return
    for executor in (pools.get_shared_executor(), pools.get_coordinator_executor()):
        workers = executor._max_workers  # every worker must exist for the barrier to open
        barrier = threading.Barrier(workers)
        futures = [executor.submit(barrier.wait, 5) for _ in range(workers)]
        for future in futures:
            future.result()
    yield


def _url(receiver: Receiver) -> str:
    return f"json://127.0.0.1:{receiver.port}/hook/{SECRET}"


def test_missing_extra_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates the package being absent (it may be installed here): only the import is faked.
    monkeypatch.setattr(apprise, "_load", lambda: None)
    with pytest.raises(ConfigError, match=r"pip install 'ruleengine\[apprise\]'"):
        apprise.AppriseSender(
            settings_for("apprise", url="json://localhost/x"), SenderContext("a", Redactor())
        )


def test_delivered_through_apprise(receiver: Receiver) -> None:
    pytest.importorskip("apprise")
    sender = make("apprise", url=_url(receiver))
    outcome = sender.send(note("web1 down", title="Outage", color="red"))
    sender.close()
    assert isinstance(outcome, Delivered)
    (request,) = receiver.wait_for(1)
    assert request.path == f"/hook/{SECRET}"
    body = request.json()
    assert (body["title"], body["message"], body["type"]) == ("Outage", "web1 down", "failure")


def test_failure_is_retry_without_the_secret(receiver: Receiver) -> None:
    pytest.importorskip("apprise")
    receiver.reply(Reply(500, f"broken {SECRET}"))
    sender = make("apprise", url=_url(receiver))
    outcome = sender.send(note())
    preview = sender.preview(note(color="green"))
    sender.close()
    assert isinstance(outcome, Retry)
    assert SECRET not in repr(outcome)
    assert SECRET not in json.dumps(preview)
    assert preview["notify_type"] == "success"
    assert preview["apprise_url"] == "json://***"


def test_an_url_apprise_does_not_know_is_a_config_error() -> None:
    pytest.importorskip("apprise")
    with pytest.raises(ConfigError, match="apprise does not understand url nosuchservice://"):
        make("apprise", url="nosuchservice://abc")


def test_apprise_reason_is_in_the_outcome_and_client_errors_are_permanent(
    receiver: Receiver,
) -> None:
    """Apprise knew why (its warning log line): the outcome says it, redacted, classified."""
    pytest.importorskip("apprise")
    receiver.reply(Reply(403, "no"), Reply(503, "busy"))
    sender = make("apprise", url=_url(receiver))
    forbidden = sender.send(note())
    unavailable = sender.send(note())
    sender.close()
    assert isinstance(forbidden, Permanent), forbidden
    assert "error=403" in forbidden.reason and SECRET not in forbidden.reason
    assert isinstance(unavailable, Retry), unavailable
    assert "error=503" in unavailable.reason


def test_apprise_log_lines_do_not_reach_ours(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("apprise")
    receiver.reply(Reply(500, "broken"))
    sender = make("apprise", url=_url(receiver))
    with caplog.at_level(logging.DEBUG):
        sender.send(note())
    sender.close()
    assert not [r for r in caplog.records if r.name.startswith("apprise")]


def test_an_endless_reply_through_apprise_is_cut() -> None:
    """Apprise reads replies itself; its requests use our connections, which stop at
    ``pools.WIRE_BYTES`` (asserted on the bytes the server got out, not on memory)."""
    pytest.importorskip("apprise")
    from ruleengine.senders.pools import WIRE_BYTES  # noqa: PLC0415
    from tests.support.hostile import HostileServer, endless  # noqa: PLC0415

    with HostileServer(endless(status=200)) as server:
        sender = make("apprise", url=f"json://127.0.0.1:{server.port}/hook", timeout=20)
        outcome = sender.send(note())
        sender.close()
    assert isinstance(outcome, Retry), outcome
    assert WIRE_BYTES <= server.sent < 32 * 1024 * 1024
