"""The http source end to end in-process: real HTTP requests, a real engine and state database.

A 202 means the events and their notifications are committed: each test reads the outbox
right after the answer, without waiting.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from ruleengine.errors import RuleEngineError
from ruleengine.sources.http.source import HttpSource
from tests.support.daemon import run_cli
from tests.support.intakekit import TOKENS, rules_file, running_intake
from tests.support.outbox import outbox


def test_an_event_routes_by_type_and_is_stored_before_the_202(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        answer = intake.post({"type": "server.rebooted", "host": "web1"})
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"accepted": 1, "duplicates": 0}
        assert intake.texts() == ["web1 rebooted (from alice)"]


def test_type_regex_groups_where_and_when_route_like_marker_rules(tmp_path: Path) -> None:
    events = [
        {"type": "update.failed", "host": "a", "severity": "high", "kb": "KB1"},
        {"type": "update.done", "host": "b", "severity": "low", "kb": "KB2"},  # where: no
        {"type": "update.failed", "host": "c", "severity": "critical"},  # when: no kb
        {"type": "update.started", "host": "d", "severity": "high", "kb": "KB3"},  # no type
    ]
    with running_intake(tmp_path) as intake:
        answer = intake.post(events)
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == 4  # accepted and durable, even when no rule fires
        assert intake.texts() == ["update failed on a: KB1"]


def test_the_client_field_is_the_authenticated_name_not_the_body(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        answer = intake.post(
            {"type": "server.rebooted", "host": "h", "client": "mallory"}, client="bob"
        )
        assert answer.status_code == 202
        assert intake.texts() == ["h rebooted (from bob)"]


def test_event_data_is_data_never_a_template(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        assert intake.post({"type": "server.rebooted", "host": "{{ 7*7 }}"}).status_code == 202
        assert intake.texts() == ["{{ 7*7 }} rebooted (from alice)"]


def test_structured_cloudevents_and_batches(tmp_path: Path) -> None:
    one = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/producers/a",
        "type": "com.example.alert",
        "subject": "disk",
        "datacontenttype": "application/json",
        "data": {"text_field": "full"},
    }
    two = {**one, "id": "e-2", "subject": "cpu", "data": {"text_field": "hot"}}
    with running_intake(tmp_path) as intake:
        first = intake.post(one, content_type="application/cloudevents+json")
        assert first.status_code == 202, first.text
        batch = intake.post([one, two], content_type="application/cloudevents-batch+json")
        assert batch.status_code == 202, batch.text
        # e-1 again (same source and id) is a duplicate; e-2 is new.
        assert batch.json() == {"accepted": 1, "duplicates": 1}
        assert intake.texts() == ["/producers/a says disk: full", "/producers/a says cpu: hot"]


def test_a_retried_request_with_the_same_idempotency_key_is_not_stored_again(
    tmp_path: Path,
) -> None:
    body = [{"type": "server.rebooted", "host": "x"}, {"type": "server.rebooted", "host": "y"}]
    with running_intake(tmp_path) as intake:
        assert intake.post(body, key="run-42").json() == {"accepted": 2, "duplicates": 0}
        assert intake.post(body, key="run-42").json() == {"accepted": 0, "duplicates": 2}
        # Keys are per client: bob's run-42 is another request.
        assert intake.post(body, key="run-42", client="bob").json()["accepted"] == 2
        assert len(intake.texts()) == 4
    # Remembered across a restart: the key is in the state database.
    with running_intake(tmp_path) as intake:
        assert intake.post(body, key="run-42").json() == {"accepted": 0, "duplicates": 2}
        assert len(intake.texts()) == 4


def test_fifty_concurrent_clients_each_get_their_events_stored_once(tmp_path: Path) -> None:
    """50 threads, each with its own keep-alive session, 10 requests each, some retried."""
    results: list[int] = []
    lock = threading.Lock()
    with running_intake(tmp_path, source="rate: 1000\nburst: 1000\n") as intake:

        def client(number: int) -> None:
            with requests.Session() as session:
                for request in range(10):
                    body = {"type": "server.rebooted", "host": f"h{number}-{request}"}
                    key = f"{number}-{request}"
                    codes = [intake.post(body, key=key, session=session).status_code]
                    if request % 3 == 0:  # a retry of the same request
                        codes.append(intake.post(body, key=key, session=session).status_code)
                    with lock:
                        results.extend(codes)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(results) == {202}
        texts = intake.texts()
    assert len(texts) == 500
    assert len(set(texts)) == 500


def test_health_and_readiness(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        assert requests.get(f"{intake.url}/healthz", timeout=10).json() == {"status": "ok"}
        ready = requests.get(f"{intake.url}/readyz", timeout=10)
        assert ready.status_code == 200


def test_status_shows_where_it_listens_and_what_it_answered(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        assert intake.post([{"type": "a"}, {"type": "b"}], key="k").status_code == 202
        assert intake.post([{"type": "a"}, {"type": "b"}], key="k").status_code == 202
        assert intake.post({"type": "a"}, client=None).status_code == 401
        assert intake.post({"no": "type"}).status_code == 422
        url = intake.url
    # Leaving the block stopped the daemon: its last figures were committed on the way out.
    result = run_cli("status", "-c", str(rules_file(tmp_path)))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "intake (http" in line)
    assert f"intake (http {url}): since " in line
    assert line.endswith(
        "2 requests accepted (2 events stored, 2 duplicates), 2 rejected (401: 1, 422: 1)"
    )
    figures = json.loads(run_cli("status", "-c", str(rules_file(tmp_path)), "--json").stdout)
    [http] = [s["http"] for s in figures["sources"] if s["name"] == "intake"]
    assert (http["listen"], http["requests"], http["rejected"]) == (url, 2, {"401": 1, "422": 1})


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_posts_an_event(tmp_path: Path) -> None:
    with running_intake(tmp_path) as intake:
        done = subprocess.run(
            [
                "curl", "-sS", "-X", "POST", f"{intake.url}/v1/events",
                "-H", f"Authorization: Bearer {TOKENS['alice']}",
                "-H", "Content-Type: application/json",
                "--data-binary", json.dumps({"type": "server.rebooted", "host": "curly"}),
                "-w", "\n%{http_code}",
            ],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.stdout.splitlines()[-1] == "202", done
        assert intake.texts() == ["curly rebooted (from alice)"]
    assert outbox(tmp_path / "state")[0]["fields"]["client"] == "alice"


def test_a_reload_keeps_or_restarts_the_source_on_its_port(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a fixed port, so a restarted source must bind it again
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with running_intake(tmp_path, port=port) as intake:
        assert intake.url.endswith(f":{port}")
        rules = tmp_path / "rules.yaml"
        rules.write_text(rules.read_text().replace("(from {{ client }})", "via {{ client }}"))
        assert intake.daemon.reload()  # rules only: the source keeps running
        assert intake.post({"type": "server.rebooted", "host": "a"}).status_code == 202
        rules.write_text(
            rules.read_text().replace("    clients:\n", "    rate: 10\n    clients:\n")
        )
        assert intake.daemon.reload()  # the source changed: stopped, then started on the port
        assert intake.post({"type": "server.rebooted", "host": "b"}).status_code == 202
        assert intake.texts() == ["a rebooted via alice", "b rebooted via alice"]


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = pytest.raises(RuleEngineError, match=f"cannot listen on 127.0.0.1:{port}")
        with refused, running_intake(tmp_path, port=port):
            pass


def test_restarts_do_not_pile_up_database_connections(tmp_path: Path) -> None:
    """Each start brings new worker threads, each reading idempotency keys on its own
    connection; those of ended threads are closed when the next connection is opened."""
    with running_intake(tmp_path) as intake:
        store = intake.daemon.supervisor.store
        rules = tmp_path / "rules.yaml"
        counts = []
        for rate in (10, 11, 12, 13):
            lines = [ln for ln in rules.read_text().splitlines() if not ln.startswith("    rate:")]
            at = lines.index("    clients:")
            rules.write_text("\n".join([*lines[:at], f"    rate: {rate}", *lines[at:]]) + "\n")
            assert intake.daemon.reload()
            source = intake.daemon.supervisor.sources["intake"]
            assert isinstance(source, HttpSource) and source.address is not None
            url = f"http://127.0.0.1:{source.address[1]}"
            with requests.Session() as session:
                for n in range(40):  # spread over many worker threads
                    answer = session.post(
                        f"{url}/v1/events",
                        json={"type": "server.rebooted", "host": f"r{rate}-{n}"},
                        headers={"Authorization": f"Bearer {TOKENS['alice']}",
                                 "Idempotency-Key": f"{rate}-{n}"},
                        timeout=30,
                    )  # fmt: skip
                    assert answer.status_code == 202
            counts.append(len(store.db._connections))
        assert counts[-1] <= counts[0] + 2, counts
