"""Bad markers land in failed/ with a reason; the others beside them are still processed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ruleengine.sources.markers import files as marker_files
from ruleengine.sources.markers.dirfd import Changed, Listed, closing, ident
from tests.support.markerkit import Pipeline, names
from tests.support.outbox import outbox
from tests.support.poll import eventually

ECHO = {"name": "echo", "file": "*.json", "message": "{{ file }}"}
BOMB = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b]\n"


def make_bad_markers(drop: Path, target: Path) -> dict[str, str]:
    """One marker of each bad kind; returns name → words its reason must contain."""
    (drop / "invalid.json").write_text('{"host": "srv1",')
    (drop / "invalid.yaml").write_text("host: [srv1\n")
    (drop / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (drop / "huge.json").write_bytes(b"{" + b" " * (1024 * 1024) + b"}")
    (drop / "bomb.yaml").write_text(BOMB)
    (drop / "deep.json").write_text('{"a": ' + "[" * 100 + "]" * 100 + "}")
    (drop / "link.json").symlink_to(target)
    os.mkfifo(drop / "pipe.json")
    (drop / "folder.json").mkdir()
    (drop / "locked.json").write_text("{}")
    return {
        "invalid.json": "invalid JSON",
        "invalid.yaml": "invalid YAML",
        "binary.json": "binary content",
        "huge.json": "larger than max_size",
        "bomb.yaml": "aliases",
        "deep.json": "nested deeper",
        "link.json": "symbolic link",
        "pipe.json": "FIFO",
        "folder.json": "directory",
        "locked.json": "cannot open: Permission denied",
    }


def make_unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000 where that denies reading; root reads anyway, so there (only) the open that
    the source makes is refused with the same EACCES the kernel would give a normal user."""
    if os.geteuid() != 0:
        path.chmod(0)
        return
    real_open = os.open

    def refusing_open(file: object, flags: int, *args: int, **kwargs: object) -> int:
        if Path(os.fsdecode(file)).name == path.name:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(marker_files.os, "open", refusing_open)


def test_each_bad_kind_goes_to_failed_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text('{"secret": "not to be read through a link"}')
    expected = make_bad_markers(drop, outside)
    make_unreadable(drop / "locked.json", monkeypatch)
    (drop / "good.json").write_text('{"ok": true}')
    with Pipeline(tmp_path, {}, [ECHO]):
        eventually(lambda: names(drop) == ["failed", "processed"], what="every marker handled")
        (drop / "after.json").write_text("{}")  # the source is still running
        eventually(lambda: len(outbox(tmp_path / "state")) == 2, what="the marker after")
    assert sorted(row["text"] for row in outbox(tmp_path / "state")) == ["after.json", "good.json"]
    failed = drop / "failed"
    assert names(failed) == sorted([*expected, *(f"{n}.reason" for n in expected)])
    for name, words in expected.items():
        reason = (failed / f"{name}.reason").read_text(encoding="utf-8")
        assert words in reason, (name, reason)
    assert (failed / "link.json").is_symlink()
    assert (failed / "huge.json").stat().st_size == 1024 * 1024 + 2


def test_report_failed_lets_a_rule_notify(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "srv1.rebooted.json").write_text("{not json")
    (drop / "srv1.rebooted.json.ok").write_text("{}")
    rules = [
        {"name": "rebooted", "file": "*.rebooted.json", "message": "{{ host }} rebooted"},
        {"name": "bad-marker", "file": "*.failed", "message": "{{ marker }}: {{ reason }}"},
    ]
    with Pipeline(tmp_path, {"report_failed": True, "unmatched": "delete"}, rules):
        eventually(lambda: names(drop) == ["failed"])
    (row,) = outbox(tmp_path / "state")
    assert row["rule"] == "bad-marker"
    assert row["text"].startswith("srv1.rebooted.json: invalid JSON")
    assert names(drop / "failed") == ["srv1.rebooted.json", "srv1.rebooted.json.reason"]


def test_symlinks_are_read_when_asked_to(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (tmp_path / "real.json").write_text('{"v": "through the link"}')
    (drop / "link.json").symlink_to(tmp_path / "real.json")
    rule = {"name": "r", "message": "{{ v }}"}
    with Pipeline(tmp_path, {"follow_symlinks": True}, [rule]):
        (row,) = eventually(lambda: outbox(tmp_path / "state"))
        eventually(lambda: names(drop) == ["processed"])
    assert row["text"] == "through the link"
    assert (tmp_path / "real.json").exists()  # the link was archived, not its target


def test_reading_a_fifo_never_blocks(tmp_path: Path) -> None:
    """A FIFO listed as one is refused unopened; one swapped in after the listing saw a
    regular file is opened non-blocking and found to be another file: gone, not read."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    regular = tmp_path / "regular"
    regular.write_text("{}")
    root = ident(tmp_path.stat())
    with closing(os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)) as parent:
        with pytest.raises(marker_files.BadMarker, match="FIFO"):
            marker_files.read_marker(parent, Listed("pipe", root, (), fifo.lstat()), 1024, False)
        swapped = Listed("pipe", root, (), regular.lstat())
        with pytest.raises(Changed):
            marker_files.read_marker(parent, swapped, 1024, follow_symlinks=False)
