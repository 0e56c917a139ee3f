"""``ruleengine status`` against a running daemon, and against state it cannot use."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from ruleengine.state import Store
from tests.support.daemon import DaemonProcess, append, run_cli
from tests.support.receiver import Receiver, Reply

SECRET = "T0k3nInTheUrlPath"  # noqa: S105 - fake token; the test checks it never leaks


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"""\
state_dir: state
destinations:
  hook:
    type: webhook
    url: "${{env:HOOK_URL}}"
    retry: {{ max_attempts: 1 }}
sources:
  app:
    type: logfile
    paths: ["{tmp_path / "app.log"}"]
  drops:
    type: markers
    directory: drops
rules:
  - name: errors
    source: app
    match: 'ERROR (?P<what>.*)'
    message: "{{{{ what }}}}"
    to: [hook]
  - name: drops
    source: drops
    file: "*.json"
    message: "dropped {{{{ file }}}}"
    to: [hook]
"""
    )
    return rules


@pytest.mark.slow
def test_status_while_the_daemon_runs(tmp_path: Path, receiver: Receiver) -> None:
    rules = _rules(tmp_path)
    log = tmp_path / "app.log"
    log.write_text("before start\n")
    (tmp_path / "drops").mkdir()
    env = {"HOOK_URL": f"{receiver.url}/hook/{SECRET}"}
    receiver.reply(Reply(status=400, body="bad payload"))  # the first one is dead-lettered
    with DaemonProcess(rules, workdir=tmp_path, env=env, log_level="debug") as daemon:
        daemon.wait_running()
        append(log, "ERROR first\nERROR second\n")
        receiver.wait_for(2)
        daemon.wait_for_log(re.compile("dead-lettered"))
        (tmp_path / "drops" / ".writing.tmp").write_text("{}")  # ignored: still being written
        (tmp_path / "drops" / "nobody-cares.txt").write_text("hello")  # no rule matches *.txt
        daemon.wait_for_log(
            re.compile(r"nobody-cares\.txt")
        )  # the markers source says it is left alone

        result = run_cli("status", "-c", str(rules), "--json", env=env)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["daemon"]["running"] is True
        assert report["daemon"]["pid"] == daemon.proc.pid
        assert report["daemon"]["uptime"] >= 0
        assert len(report["daemon"]["config_hash"]) == 12
        app, drops = report["sources"]
        assert app["name"] == "app"
        [file] = app["files"]
        size = log.stat().st_size
        assert file == {"path": str(log), "size": size, "offset": size, "behind": 0, "rotated": []}
        assert drops["name"] == "drops"
        assert (drops["markers_pending"], drops["markers_unmatched"], drops["markers_failed"]) == (
            0,
            1,
            0,
        )
        [hook] = report["destinations"]
        assert hook["name"] == "hook" and hook["configured"] is True
        assert (hook["pending"], hook["dead"]) == (0, 1)
        assert hook["last_success"] is not None
        # The dead letter came before a success: shown as recovered from, not as current.
        assert hook["last_error"] is None
        assert "400" in hook["recovered_error"]

        text = run_cli("status", "-c", str(rules), env=env)
        assert text.returncode == 0, text.stderr
        assert f"daemon: running, pid {daemon.proc.pid}" in text.stdout
        assert f"{log}: offset {size} of {size} bytes, 0 behind" in text.stdout
        assert "hook: 0 pending, 1 dead letters" in text.stdout

        # Without the service's environment the secret cannot resolve: status still works.
        bare = run_cli("status", "-c", str(rules), "--json", env={"HOOK_URL": ""})
        assert bare.returncode == 0, bare.stderr
        assert json.loads(bare.stdout)["destinations"][0]["dead"] == 1
        for output in (result.stdout, text.stdout, bare.stdout, daemon.output):
            assert SECRET not in output
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0

    stopped = run_cli("status", "-c", str(rules), env=env)
    assert stopped.returncode == 0
    assert "daemon: not running" in stopped.stdout


def _state_db(tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir(exist_ok=True)
    return tmp_path / "state" / "state.db"


def _fails_clearly(tmp_path: Path, *words: str) -> str:
    result = run_cli("status", "-c", str(_rules(tmp_path)), env={"HOOK_URL": "http://x.invalid"})
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr
    return result.stderr


def test_corrupt_state_database(tmp_path: Path) -> None:
    _state_db(tmp_path).write_bytes(b"\x00garbage" * 1000)
    _fails_clearly(tmp_path, "state.db", "mv ")


def test_database_that_is_not_ours(tmp_path: Path) -> None:
    with sqlite3.connect(_state_db(tmp_path)) as conn:
        conn.execute("CREATE TABLE something (x)")
    conn.close()
    _fails_clearly(tmp_path, "not a ruleengine state database", "mv ")


def test_state_database_from_a_newer_version(tmp_path: Path) -> None:
    Store(tmp_path / "state").close()
    with sqlite3.connect(_state_db(tmp_path)) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.close()
    _fails_clearly(tmp_path, "newer ruleengine", "upgrade ruleengine")


def test_no_state_database_yet(tmp_path: Path) -> None:
    _fails_clearly(tmp_path, "has not run with this rules file yet")


def test_status_of_an_idle_database_without_a_daemon_record(tmp_path: Path) -> None:
    """A database written before the daemon recorded itself: sources come from the rules."""
    Store(tmp_path / "state").close()
    (tmp_path / "app.log").write_text("x\n")
    result = run_cli(
        "status", "-c", str(_rules(tmp_path)), "--json", env={"HOOK_URL": "http://x.invalid/"}
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["daemon"]["running"] is False
    assert [s["name"] for s in report["sources"]] == ["app", "drops"]
    assert report["sources"][0]["files"][0]["offset"] is None
    assert report["sources"][1]["markers_pending"] is None  # the directory does not exist
    assert report["destinations"][0]["pending"] == 0


def test_positions_in_both_stored_formats_are_understood(tmp_path: Path) -> None:
    """The flat ``{dev, ino, offset}`` and the ``{active, rotated}`` logfile positions, and
    legacy and relative-path marker ledger keys, all read the same."""
    from ruleengine.model import Position  # noqa: PLC0415
    from ruleengine.state.report import open_readonly, source_status  # noqa: PLC0415

    flat, nested = tmp_path / "flat.log", tmp_path / "nested.log"
    flat.write_text("0123456789")
    nested.write_text("01234567890123456789")
    drops = tmp_path / "drops"
    drops.mkdir()
    for name in ("old.txt", "new.txt", "waiting.json"):
        (drops / name).write_text("x")

    def state(path: Path, offset: int) -> dict[str, int]:
        info = path.stat()
        return {"dev": info.st_dev, "ino": info.st_ino, "offset": offset}

    store = Store(tmp_path / "state")
    store.commit(
        (),
        (
            Position("a", str(flat), json.dumps(state(flat, 4))),
            Position("a", str(nested), json.dumps({"active": state(nested, 15), "rotated": []})),
            Position("m", "old.txt/1:2:3:abc123", "unmatched"),
            Position("m", "new.txt", "unmatched 0123abcd 1700000000"),
            Position("m", "waiting.json", "consumed 0123abcd 1700000000"),
        ),
    )
    store.close()
    conn = open_readonly(tmp_path / "state" / "state.db")
    try:
        logs, markers = source_status(
            conn,
            {
                "a": {"type": "logfile", "paths": [str(tmp_path / "*.log")]},
                "m": {"type": "markers", "directory": str(drops)},
            },
        )
    finally:
        conn.close()
    assert [(f.path, f.offset, f.behind) for f in logs.files] == [
        (str(flat), 4, 6),
        (str(nested), 15, 5),
    ]
    assert (markers.markers_pending, markers.markers_unmatched) == (1, 2)


def test_rotated_generations_still_being_read_are_shown(tmp_path: Path) -> None:
    """A position draining two rotated generations: the plain one with its size, the
    compressed one without (its size says nothing about the text), both in the text view."""
    from ruleengine.commands.status import _source_lines  # noqa: PLC0415
    from ruleengine.model import Position  # noqa: PLC0415
    from ruleengine.sources.logfile.rotation import FileState  # noqa: PLC0415
    from ruleengine.state.report import open_readonly, source_status  # noqa: PLC0415

    log, plain, packed = tmp_path / "app.log", tmp_path / "app.log.1", tmp_path / "app.log.2.gz"
    for path in (log, plain, packed):
        path.write_text("0123456789")

    def state(path: Path, offset: int) -> dict[str, object]:
        generation = FileState.new(path.stat(), b"0123456789", offset)
        return {**generation.to_json(), "where": str(path)}

    value = {"active": state(log, 10), "rotated": [state(packed, 3), state(plain, 4)]}
    store = Store(tmp_path / "state")
    store.commit((), (Position("a", str(log), json.dumps(value)),))
    store.close()
    conn = open_readonly(tmp_path / "state" / "state.db")
    try:
        [logs] = source_status(conn, {"a": {"type": "logfile", "paths": [str(log)]}})
    finally:
        conn.close()
    [file] = logs.files
    assert [(r.path, r.offset, r.size) for r in file.rotated] == [
        (str(packed), 3, None),
        (str(plain), 4, 10),
    ]
    text = "\n".join(_source_lines(logs, 0.0))
    assert f"still reading rotated {packed}: offset 3\n" in text + "\n"
    assert f"still reading rotated {plain}: offset 4 of 10 bytes" in text
