"""processed/ and failed/: made by ruleengine, used only while they are real directories it owns
that no one else may write; reason files never written through a link; ``archive_dir``."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from ruleengine.sources.markers.archive import problem
from ruleengine.state.report import open_readonly
from ruleengine.state.source_status import source_status
from tests.support.markerkit import Pipeline, names
from tests.support.outbox import outbox
from tests.support.poll import eventually

ECHO = {"name": "echo", "message": "{{ file }}"}
ROOT = os.geteuid() == 0


def test_archive_directories_are_made_private(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.json").write_text("{}")
    (drop / "bad.json").write_text("{not json")
    old = os.umask(0)  # whatever the umask: 0750
    try:
        with Pipeline(tmp_path, {}, [ECHO]):
            eventually(lambda: names(drop) == ["failed", "processed"])
    finally:
        os.umask(old)
    for folder in ("processed", "failed"):
        assert (drop / folder).stat().st_mode & 0o777 == 0o750
    reason = drop / "failed" / "bad.json.reason"
    assert "invalid JSON" in reason.read_text()
    assert reason.stat().st_mode & 0o022 == 0


def test_a_planted_reason_link_is_never_written_through(tmp_path: Path) -> None:
    """Even in a failed/ the daemon accepts, an existing ``.reason`` name is skipped."""
    drop, victim = tmp_path / "drop", tmp_path / "victim"
    drop.mkdir()
    victim.write_text("precious\n")
    (drop / "failed").mkdir(mode=0o750)
    (drop / "failed" / "evil.json.reason").symlink_to(victim)
    (drop / "evil.json").write_text("{not json")
    with Pipeline(tmp_path, {}, [ECHO]):
        eventually(lambda: "evil.json.1.reason" in names(drop / "failed"))
    assert victim.read_text() == "precious\n"
    assert (drop / "failed" / "evil.json.reason").is_symlink()
    assert "invalid JSON" in (drop / "failed" / "evil.json.1.reason").read_text()


def test_a_group_writable_failed_directory_is_refused_and_shown_in_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "failed").mkdir()
    (drop / "failed").chmod(0o770)
    (drop / "bad.json").write_text("{not json")
    (drop / "good.json").write_text("{}")
    with Pipeline(tmp_path, {"after": "delete"}, [ECHO]) as pipeline:
        eventually(lambda: not (drop / "good.json").exists())
        eventually(lambda: "cannot move it to failed/" in caplog.text)
        specs = {"drop": {"type": "markers", "directory": str(drop), "uid": os.geteuid()}}
        (status,) = source_status(open_readonly(pipeline.store.path), specs)
    assert names(drop) == ["bad.json", "failed"]  # left where it was
    assert "writable by group or others (mode 770)" in caplog.text
    assert status.markers_refused == (
        f"{drop / 'failed'} is writable by group or others (mode 770)",
    )
    assert "Traceback" not in caplog.text


def test_archive_dir_keeps_processed_and_failed_outside(tmp_path: Path) -> None:
    drop, archive = tmp_path / "drop", tmp_path / "archive"
    drop.mkdir()
    (drop / "sub").mkdir()
    (drop / "sub" / "good.json").write_text("{}")
    (drop / "bad.json").write_text("{not json")
    with Pipeline(tmp_path, {"archive_dir": str(archive), "recursive": True}, [ECHO]):
        eventually(lambda: names(archive) == ["failed", "processed"])
        eventually(lambda: names(archive / "processed" / "sub") == ["good.json"])
    assert names(drop) == ["sub"]
    assert names(archive / "failed") == ["bad.json", "bad.json.reason"]
    assert [row["text"] for row in outbox(tmp_path / "state")] == ["good.json"]


def test_status_refuses_an_archive_swapped_for_a_link(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "processed").symlink_to(tmp_path)
    with Pipeline(tmp_path, {}, [ECHO]) as pipeline:
        specs = {"drop": {"type": "markers", "directory": str(drop), "uid": os.geteuid()}}
        (status,) = source_status(open_readonly(pipeline.store.path), specs)
    assert status.markers_refused == (f"{drop / 'processed'} is a symbolic link",)


def test_problem_names_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir(mode=0o750)
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    uid = os.geteuid()
    assert problem(None, uid) is None
    assert problem((tmp_path / "dir").lstat(), uid) is None
    assert problem((tmp_path / "link").lstat(), uid) == "is a symbolic link"
    assert problem((tmp_path / "file").lstat(), uid) == "is not a directory"
    assert "owned by uid" in str(problem((tmp_path / "dir").lstat(), uid + 1))


@pytest.mark.skipif(not ROOT, reason="a link owned by another user needs root to make")
def test_a_followed_link_must_belong_to_the_target_owner(tmp_path: Path) -> None:
    """follow_symlinks: true reads a link only to a file of the link's owner (or ours)."""
    nobody = pwd.getpwnam("nobody").pw_uid
    drop = tmp_path / "drop"
    drop.mkdir()
    (tmp_path / "secret").write_text('{"v": "root only"}')
    (tmp_path / "secret").chmod(0o600)
    (tmp_path / "theirs").write_text('{"v": "theirs"}')
    os.chown(tmp_path / "theirs", nobody, -1)
    for link, target in (("steal.json", "secret"), ("own.json", "theirs")):
        (drop / link).symlink_to(tmp_path / target)
        os.lchown(drop / link, nobody, -1)
    rule = {"name": "r", "message": "{{ v }}"}
    with Pipeline(tmp_path, {"follow_symlinks": True}, [rule]):
        eventually(lambda: names(drop) == ["failed", "processed"])
    assert [row["text"] for row in outbox(tmp_path / "state")] == ["theirs"]
    reason = (drop / "failed" / "steal.json.reason").read_text()
    assert "a link is followed only to a file of its own owner" in reason
