"""``ruleengine dead list|retry|purge`` on a real state database, also beside running workers."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.commands.deadletters import format_age
from ruleengine.dispatch import worker as dispatch_worker
from ruleengine.model import Notification
from ruleengine.redact import Redactor
from ruleengine.state import Store
from tests.support.dispatch_helpers import note, route, running
from tests.support.outbox import outbox, rows_by_text
from tests.support.poll import eventually
from tests.support.receiver import Receiver

HOOK = "https://hooks.example.com/services/T0/B0/deadsecretXYZ"


def kill(store: Store, item: Notification, error: str, attempts: int = 1) -> None:
    """Put ``item`` in the outbox and dead-letter it, as a worker would."""
    store.commit([item], [])
    row = store.next_pending(item.destination)
    assert row is not None and row.notification.id == item.id
    for _ in range(attempts - 1):
        store.mark_retry(row.seq, 0.0, error)
    store.mark_dead(row.seq, error)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    store = Store(tmp_path)
    kill(store, note("room", "disk full on web1\nsecond line"), f"HTTP 404 from {HOOK}", 3)
    kill(store, note("room", "backup failed"), "gave up after 9 attempts: HTTP 503")
    kill(store, note("mail", "mail me"), "connection failed: [Errno 111] Connection refused")
    store.commit([note("room", "still pending")], [])
    store.close()
    return tmp_path


def dead(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, str, str]:
    action, rest = argv[0], argv[1:]
    code = main(["dead", action, "--state-dir", str(state), *rest])
    out, err = capsys.readouterr()
    assert "deadsecret" not in out + err
    return code, out, err


def ids(state: Path) -> dict[str, str]:
    return {record["text"]: record["id"] for record in outbox(state)}


def test_list_shows_a_redacted_table(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dead(capsys, state, "list")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:4] == ["DESTINATION", "ID", "AGE", "ATTEMPTS"]
    assert len(lines) == 3
    first = lines[0]
    assert first.startswith("room")
    assert ids(state)["disk full on web1\nsecond line"][:12] in first
    assert " 3 " in first and "HTTP 404 from https://hooks.example.com/***" in first
    assert first.endswith("disk full on web1")  # the first line of the text only
    assert "still pending" not in out


def test_list_json_and_destination_filter(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dead(capsys, state, "list", "--json", "--to", "mail")
    assert code == 0
    (item,) = json.loads(out)
    assert item["destination"] == "mail" and item["text"] == "mail me"
    assert item["id"] == ids(state)["mail me"]
    assert item["attempts"] == 1 and "Connection refused" in item["last_error"]
    assert item["age_seconds"] >= 0


def test_list_redacts_secrets_of_the_rules_file(
    state: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    write_rules,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("MAIL_PASSWORD", "hunter2-deadsecret")
    rules = write_rules(
        f"""
state_dir: {state}
destinations:
  room: {{type: webhook, url: "http://h/${{env:MAIL_PASSWORD}}"}}
sources:
  s: {{type: markers, directory: m}}
rules:
  - {{name: r, source: s, message: hi, to: room}}
""",
        name="other.yaml",
    )
    store = Store(state)
    kill(store, note("mail", "pw"), "535 auth failed for hunter2-deadsecret")
    store.close()
    code = main(["dead", "list", "-c", str(rules)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "535 auth failed for ***" in out
    assert "deadsecret" not in out


def test_retry_by_prefix_resets_the_budget(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = ids(state)["disk full on web1\nsecond line"][:8]
    code, out, _ = dead(capsys, state, "retry", prefix)
    assert (code, out) == (0, "queued 1 dead letter again\n")
    row = rows_by_text(state)["disk full on web1\nsecond line"]
    assert (row["state"], row["attempts"], row["next_attempt"]) == ("pending", 0, 0)
    assert rows_by_text(state)["backup failed"]["state"] == "dead"


def test_retry_per_destination_and_all(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dead(capsys, state, "retry", "--to", "mail")[1] == "queued 1 dead letter again\n"
    assert rows_by_text(state)["mail me"]["state"] == "pending"
    assert dead(capsys, state, "retry", "--all")[1] == "queued 2 dead letters again\n"
    assert all(r["state"] == "pending" for r in rows_by_text(state).values())


def test_unknown_or_ambiguous_ids_change_nothing(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ids(state)["mail me"]
    code, _, err = dead(capsys, state, "purge", good, "ffffffffffffff", "")
    assert code == 1
    assert "ffffffffffffff: no such dead letter" in err
    assert "matches 3 dead letters" in err  # "" is a prefix of every id
    assert len(rows_by_text(state)) == 4


def test_purge_by_id_age_and_all(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dead(capsys, state, "purge", ids(state)["mail me"])[1] == "purged 1 dead letter\n"
    (old,) = [id_ for text, id_ in ids(state).items() if "backup failed" in text]
    with sqlite3.connect(state / "state.db") as conn:  # records are compressed: select by id
        conn.execute("UPDATE outbox SET updated = ? WHERE id = ?", (time.time() - 8 * 86400, old))
    assert dead(capsys, state, "purge", "--older-than", "7d")[1] == "purged 1 dead letter\n"
    assert "backup failed" not in rows_by_text(state)
    assert dead(capsys, state, "purge", "--all")[1] == "purged 1 dead letter\n"
    assert list(rows_by_text(state)) == ["still pending"], "pending rows are never purged"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["retry"], "nothing selected"),
        (["purge"], "nothing selected"),
        (["retry", "abc", "--all"], "not both"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = dead(capsys, state, *argv)
    assert code == 2 and message in err


def test_missing_state_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = dead(capsys, tmp_path / "nowhere", "list")
    assert code == 1 and "no state database" in err
    assert not (tmp_path / "nowhere").exists()


def test_retry_while_workers_run(
    receiver: Receiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI writes beside a running dispatcher; the idle poll picks the row up."""
    monkeypatch.setattr(dispatch_worker, "IDLE_RECHECK", 0.2)
    redactor, store = Redactor(), Store(tmp_path)
    kill(store, note("room", "try me again"), "HTTP 503")
    with running({"room": route("room", redactor, url=receiver.url)}, store, redactor):
        code, _, _ = dead(capsys, tmp_path, "retry", "--all")
        assert code == 0
        receiver.wait_for(1)
        eventually(lambda: rows_by_text(tmp_path)["try me again"]["state"] == "delivered")
    store.close()


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (125, "2m"), (3 * 3600 + 300, "3h05m"), (2 * 86400, "2d00h")]
)
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text
