"""``ruleengine emit``: atomic, never overwrites, values typed only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ruleengine.cli import main
from tests.support.markerkit import Pipeline
from tests.support.outbox import outbox
from tests.support.poll import eventually


def emit(*args: str) -> int:
    return main(["emit", *args])


def test_writes_host_event_json_with_text_and_typed_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = emit(
        "rebooted",
        "count=007",
        "note=a=b",
        'kbs:=["KB1", "KB2"]',
        "n:=3",
        "ok:=true",
        "--dir",
        str(tmp_path),
        "--host",
        "srv1",
    )
    assert code == 0
    path = tmp_path / "srv1.rebooted.json"
    assert capsys.readouterr().out.strip() == str(path)
    assert json.loads(path.read_bytes()) == {
        "host": "srv1",
        "event": "rebooted",
        "count": "007",
        "note": "a=b",
        "kbs": ["KB1", "KB2"],
        "n": 3,
        "ok": True,
    }
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_kv_format(tmp_path: Path) -> None:
    assert (
        emit("installed", "package=7zip", "--format", "kv", "--dir", str(tmp_path), "--host", "h")
        == 0
    )
    assert (tmp_path / "h.installed.kv").read_text() == "host=h\nevent=installed\npackage=7zip\n"


def test_collisions_get_a_unique_name_that_keeps_host_first_and_event_last(tmp_path: Path) -> None:
    first = tmp_path / "srv1.rebooted.json"
    for _ in range(3):
        assert emit("rebooted", "--dir", str(tmp_path), "--host", "srv1") == 0
    made = sorted(p.name for p in tmp_path.iterdir())
    assert len(made) == 3 and first.name in made
    for name in made:
        assert name.startswith("srv1.") and name.endswith(".rebooted.json")
        assert json.loads((tmp_path / name).read_text())["event"] == "rebooted"


def test_no_reader_ever_sees_a_partial_marker(tmp_path: Path) -> None:
    """A reader listing the directory while big markers are written only finds whole ones."""
    big = "x" * 200_000
    stop = threading.Event()
    seen: dict[str, int] = {}
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            for path in tmp_path.iterdir():
                if path.name.startswith("."):
                    continue
                try:
                    data = json.loads(path.read_bytes())
                except ValueError as exc:
                    problems.append(f"{path.name}: {exc}")
                    continue
                seen[path.name] = len(data["blob"])

    thread = threading.Thread(target=reader, name="partial-reader")
    thread.start()
    try:
        for number in range(30):
            assert emit(f"e{number}", f"blob={big}", "--dir", str(tmp_path), "--host", "h") == 0
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert seen and set(seen.values()) == {len(big)}
    assert len(list(tmp_path.iterdir())) == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ok", "novalue"], "expected KEY=VALUE"),
        (["ok", "=v"], "expected KEY=VALUE"),
        (["ok", "a b=c"], "expected KEY=VALUE"),
        (["ok", "a=1", "a=2"], "given twice"),
        (["ok", "host=x"], "set by emit itself"),
        (["ok", "n:={bad"], "not valid JSON"),
        (["ok", "n:=1", "--format", "kv"], "need --format json"),
        (["ok", "v=two\nlines", "--format", "kv"], "cannot span lines"),
        (["../up"], "invalid event"),
        ([".hidden"], "invalid event"),
        (["ok", "--host", "a/b"], "invalid host"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert emit(*args, "--dir", str(tmp_path)) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert emit("ok", "--dir", str(tmp_path / "nope")) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.slow
def test_emitted_marker_reaches_a_rule_at_once(tmp_path: Path) -> None:
    """The marker appears by hard link, with its content: the source reads it without waiting
    for a settle time (set to an hour here)."""
    drop = tmp_path / "drop"
    drop.mkdir()
    rule = {
        "name": "rebooted",
        "file": "*.rebooted.json",
        "message": "{{ host }} rebooted: {{ kbs | join(', ') }} ({{ kbs | length }})",
    }
    with Pipeline(tmp_path, {"settle": "1h"}, [rule]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruleengine",
                "emit",
                "rebooted",
                'kbs:=["KB1","KB2"]',
                "--dir",
                str(drop),
                "--host",
                "srv1",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        assert result.returncode == 0, result.stderr
        (row,) = eventually(lambda: outbox(tmp_path / "state"), timeout=10)
    assert row["text"] == "srv1 rebooted: KB1, KB2 (2)"
