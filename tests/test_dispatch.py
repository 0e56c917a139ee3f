"""Delivery workers against the real loopback receiver: pacing, FIFO, isolation, retries,
dead letters and fallback, restart, shutdown. Timings are only ever asserted as lower bounds.
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import pytest

from ruleengine.config import load_config_text
from ruleengine.dispatch import Dispatcher
from ruleengine.errors import ConfigError
from ruleengine.redact import RedactingFilter, Redactor
from ruleengine.state import Store
from tests.support.dispatch_helpers import enqueue, note, route, running
from tests.support.outbox import rows_by_text
from tests.support.poll import eventually
from tests.support.receiver import Receiver, Reply

FAST = {"backoff": 0.05, "backoff_max": 0.1}
SLACK = 0.03  # arrival jitter allowed on a lower bound (request start vs. receiver timestamp)


def test_pacing_keeps_the_configured_rate(receiver: Receiver, tmp_path: Path) -> None:
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url, rate=5.0)}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, *(note("room", f"m{i}") for i in range(5)))
        got = receiver.wait_for(5)
    stamps = [r.time for r in got]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.2 - SLACK, gaps
    assert stamps[-1] - stamps[0] >= 4 * 0.2 - SLACK
    store.close()


def test_retries_count_against_the_rate(receiver: Receiver, tmp_path: Path) -> None:
    """A retry after "Retry-After: 0" still waits for the pacing interval (1/s here)."""
    receiver.reply(Reply(status=503, headers={"Retry-After": "0"}))
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url, rate=1.0, retry=FAST)}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "hello"))
        first, second = receiver.wait_for(2)
        eventually(lambda: rows_by_text(tmp_path)["hello"]["state"] == "delivered")
    assert second.time - first.time >= 1.0 - SLACK
    store.close()


def test_fifo_with_a_failing_head_row(receiver: Receiver, tmp_path: Path) -> None:
    receiver.reply(Reply(status=503), Reply(status=500), Reply(status=502))
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url, retry=FAST)}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "first"), note("room", "second"))
        enqueue(store, dispatcher, note("room", "third"))
        got = receiver.wait_for(6)
    assert [r.json()["text"] for r in got] == ["first"] * 4 + ["second", "third"]
    assert rows_by_text(tmp_path)["first"]["attempts"] == 4
    store.close()


def test_a_hanging_destination_does_not_delay_another(tmp_path: Path) -> None:
    with Receiver() as slow, Receiver() as fast:
        slow.default = Reply(delay=3.0)
        redactor, store = Redactor(), Store(tmp_path)
        routes = {
            "slow": route("slow", redactor, url=slow.url, timeout=5),
            "fast": route("fast", redactor, url=fast.url),
        }
        with running(routes, store, redactor) as dispatcher:
            enqueue(store, dispatcher, note("slow", "stuck"), note("fast", "a"))
            enqueue(store, dispatcher, note("fast", "b"), note("fast", "c"))
            fast.wait_for(3)
            # The slow receiver records a request only once it answers: still hanging.
            assert slow.requests == []
            eventually(lambda: rows_by_text(tmp_path)["c"]["state"] == "delivered")
            assert slow.requests == []
        # Stopping waited for the in-flight send instead of abandoning it.
        assert rows_by_text(tmp_path)["stuck"]["state"] == "delivered"
        store.close()


def test_wakeups_are_not_lost(receiver: Receiver, tmp_path: Path) -> None:
    """Commits racing with the worker's sleep are all picked up without the idle poll."""
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url)}
    with running(routes, store, redactor) as dispatcher:
        for i in range(15):
            enqueue(store, dispatcher, note("room", f"m{i}"))
            time.sleep(0.003 * (i % 4))
        receiver.wait_for(15, timeout=4.0)  # IDLE_RECHECK is 5s: a lost wake would time out
    store.close()


def test_permanent_error_dead_letters_and_notifies_fallback(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.reply(Reply(status=404, body="channel_not_found"))
    redactor, store = Redactor(), Store(tmp_path)
    routes = {
        "room": route("room", redactor, url=f"{receiver.url}/room", fallback="mail", retry=FAST),
        "mail": route("mail", redactor, url=f"{receiver.url}/mail"),
    }
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "disk full on web1"))
        failed, notice = receiver.wait_for(2)
    assert failed.path == "/room"  # exactly one attempt: never retried
    assert notice.path == "/mail"
    text = notice.json()["text"]
    assert "disk full on web1" in text and "HTTP 404" in text and "room" in text
    state = rows_by_text(tmp_path)
    assert state["disk full on web1"]["state"] == "dead"
    assert "channel_not_found" in state["disk full on web1"]["last_error"]
    assert [s["state"] for s in state.values()].count("delivered") == 1
    store.close()


def test_exhausted_budget_dead_letters_with_last_error(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default = Reply(status=503, body="down for maintenance")
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url, retry={**FAST, "max_attempts": 3})}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "hello"))
        eventually(lambda: rows_by_text(tmp_path)["hello"]["state"] == "dead")
    assert len(receiver.requests) == 3
    row = rows_by_text(tmp_path)["hello"]
    assert row["attempts"] == 3
    assert "gave up after 3 attempts" in row["last_error"]
    assert "down for maintenance" in row["last_error"]
    store.close()


def test_failing_fallback_chains_to_the_next(receiver: Receiver, tmp_path: Path) -> None:
    """room → mail → pager: when the fallback also refuses, its own fallback hears of both."""
    receiver.reply(Reply(status=400, body="bad room"), Reply(status=401, body="bad mail"))
    redactor, store = Redactor(), Store(tmp_path)
    routes = {
        "room": route("room", redactor, url=f"{receiver.url}/room", fallback="mail"),
        "mail": route("mail", redactor, url=f"{receiver.url}/mail", fallback="pager"),
        "pager": route("pager", redactor, url=f"{receiver.url}/pager"),
    }
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "backup failed"))
        got = receiver.wait_for(3)
    assert [r.path for r in got] == ["/room", "/mail", "/pager"]
    text = got[2].json()["text"]
    assert "backup failed" in text and "bad room" in text and "bad mail" in text
    store.close()


def test_fallback_loops_are_rejected_at_load(tmp_path: Path) -> None:
    rules = """
state_dir: state
destinations:
  a: {type: console, fallback: b}
  b: {type: console, fallback: c}
  c: {type: console, fallback: a}
  d: {type: console, fallback: d}
sources:
  s: {type: markers, directory: m}
rules:
  - {name: r, source: s, message: hi, to: a}
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(rules, tmp_path / "rules.yaml")
    loops = [p for p in caught.value.problems if "loops" in p]
    assert len(loops) == 4, caught.value.problems
    assert any(":7:" in p and "destinations.d.fallback" in p for p in loops)


def test_retry_after_is_honoured(receiver: Receiver, tmp_path: Path) -> None:
    receiver.reply(Reply(status=429, headers={"Retry-After": "1"}))
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url, retry=FAST)}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "hello"))
        first, second = receiver.wait_for(2)
        eventually(lambda: rows_by_text(tmp_path)["hello"]["state"] == "delivered")
    # FAST backoff would retry within 0.1s; the 429's Retry-After wins.
    assert second.time - first.time >= 1.0 - SLACK
    assert first.json()["id"] == second.json()["id"]  # same id: the service may de-duplicate
    store.close()


def test_restart_mid_retry_keeps_attempts_and_next_attempt(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.default = Reply(status=503, headers={"Retry-After": "2"})
    redactor, store = Redactor(), Store(tmp_path)
    routes = {"room": route("room", redactor, url=receiver.url)}
    with running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "hello"))
        (first,) = receiver.wait_for(1)
        eventually(lambda: rows_by_text(tmp_path)["hello"]["attempts"] == 1)
    store.close()

    saved = rows_by_text(tmp_path)["hello"]
    assert saved["state"] == "pending"
    assert saved["next_attempt"] >= first.time + 2.0 - SLACK

    receiver.default = Reply()
    redactor, store = Redactor(), Store(tmp_path)  # a new process would do exactly this
    routes = {"room": route("room", redactor, url=receiver.url)}
    with running(routes, store, redactor):
        _, second = receiver.wait_for(2)
        eventually(lambda: rows_by_text(tmp_path)["hello"]["state"] == "delivered")
    assert second.time >= saved["next_attempt"] - SLACK
    assert rows_by_text(tmp_path)["hello"]["attempts"] == 2
    store.close()


def _leaky_dispatch(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int
) -> str:
    """Fail a delivery and its fallback; return all log output (as the daemon would print it)
    and the stored dead letters."""
    redactor, store = Redactor(), Store(tmp_path)
    receiver.reply(Reply(status=403, body=f"invalid token in {receiver.url}/{SECRET}"))
    routes = {
        "room": route("room", redactor, url=f"{receiver.url}/{SECRET}", fallback="closed"),
        # Nothing listens on port 9 of loopback: connection refused, retried, then dead.
        "closed": route(
            "closed",
            redactor,
            url=f"http://127.0.0.1:9/{SECRET}",
            retry={**FAST, "max_attempts": 2},
        ),
    }
    caplog.handler.addFilter(RedactingFilter(redactor))  # what logsetup installs
    with caplog.at_level(level), running(routes, store, redactor) as dispatcher:
        enqueue(store, dispatcher, note("room", "hello"))
        eventually(
            lambda: (
                len(rows_by_text(tmp_path)) == 2
                and all(r["state"] == "dead" for r in rows_by_text(tmp_path).values())
            )
        )
    store.close()
    return caplog.text + repr(rows_by_text(tmp_path))


SECRET = "T000/B000/XXXXsupersecretXXXX"  # noqa: S105 - a fake, to grep for


def test_secrets_stay_out_of_logs_and_dead_letters(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dump = _leaky_dispatch(receiver, tmp_path, caplog, logging.INFO)
    assert "Connection refused" in dump and "invalid token" in dump
    assert "supersecret" not in dump


def _masks_url_path_segments() -> bool:
    """Does a webhook sender teach the redactor its URL's path segments, not just the URL?"""
    redactor = Redactor()
    route("probe", redactor, url=f"http://127.0.0.1:9/{SECRET}").sender.close()
    return "supersecret" not in redactor(f"POST /{SECRET} HTTP/1.1")


@pytest.mark.xfail(
    not _masks_url_path_segments(),
    strict=True,
    reason="known leak: urllib3's DEBUG line splits host and path, so a redactor that knows "
    "only the whole URL misses the path; the senders branch registers path segments",
)
def test_secrets_stay_out_of_debug_logs(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dump = _leaky_dispatch(receiver, tmp_path, caplog, logging.DEBUG)
    assert "supersecret" not in dump


def test_stop_without_start_is_clean(receiver: Receiver, tmp_path: Path) -> None:
    """The daemon may fail before starting delivery; shutting down must not raise then."""
    redactor, store = Redactor(), Store(tmp_path)
    dispatcher = Dispatcher({"room": route("room", redactor, url=receiver.url)}, store, redactor)
    assert dispatcher.stop(1.0)
    store.close()


def test_queued_rows_of_a_removed_destination_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redactor, store = Redactor(), Store(tmp_path)
    enqueue(store, None, note("old-room", "left behind"))
    with caplog.at_level(logging.WARNING), running({}, store, redactor):
        pass
    assert "1 queued notifications for 'old-room'" in caplog.text
    store.close()
