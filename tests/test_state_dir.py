"""A state directory the daemon cannot write (read-only or full filesystem) at startup: a clear
one-line error and a non-zero exit, never a traceback (issue 9).

Tests run as root here, where ``chmod`` does not stop writes, so the directory is a real tmpfs
mount (read-only, or tiny and filled up), unmounted afterwards. Where mounting is not permitted
(an unprivileged CI container) the tests skip and say so.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruleengine.state import Store
from tests.support.daemon import command

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

RULES = """\
state_dir: state
destinations:
  terminal: {type: console}
sources:
  drops: {type: markers, directory: drops}
rules:
  - name: any
    source: drops
    file: '*'
    to: terminal
    message: "{{ file }}"
"""


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextlib.contextmanager
def tmpfs(target: Path, size: str = "1m") -> Iterator[Path]:
    """A private tmpfs at ``target`` for the duration of the block (skip if not permitted)."""
    target.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {mounted.stderr}")
    try:
        yield target
    finally:
        if subprocess.run(["umount", str(target)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], check=False)


def remount_read_only(target: Path) -> None:
    result = _mount("-o", "remount,ro", str(target))
    assert result.returncode == 0, result.stderr


def fill(directory: Path) -> None:
    """Write until the filesystem says ENOSPC."""
    # Unbuffered: a buffered file would flush its unwritten rest on close and fail there.
    with (directory / "filler").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                os.fsync(handle.fileno())
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC
    with contextlib.suppress(OSError):  # and squeeze out the last partial block
        for index in range(1000):
            (directory / f"f{index}").write_bytes(b"x" * 512)


def run_daemon(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "drops").mkdir(exist_ok=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    try:
        return subprocess.run(
            command("run", "-c", str(rules)),
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the daemon kept running on an unusable state dir: {exc}") from None


def assert_clear_failure(result: subprocess.CompletedProcess[str], *words: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert "state" in output, output
    lowered = output.lower()
    assert any(word in lowered for word in words), output


def test_read_only_state_dir_fails_clearly(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "state") as state:
        remount_read_only(state)
        result = run_daemon(tmp_path)
    assert_clear_failure(result, "read-only filesystem")


def test_read_only_state_dir_with_an_existing_database_fails_clearly(tmp_path: Path) -> None:
    """The realistic case: the filesystem was remounted read-only after an I/O error."""
    with tmpfs(tmp_path / "state") as state:
        Store(state).close()
        remount_read_only(state)
        result = run_daemon(tmp_path)
    assert_clear_failure(result, "read-only filesystem")


def test_full_state_dir_fails_clearly(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "state", size="256k") as state:
        fill(state)
        result = run_daemon(tmp_path)
    assert_clear_failure(result, "is full")


def test_full_state_dir_with_an_existing_database_fails_clearly(tmp_path: Path) -> None:
    """SQLite alone says "disk I/O error" here; the message must name the real cause."""
    with tmpfs(tmp_path / "state", size="256k") as state:
        Store(state).close()
        fill(state)
        result = run_daemon(tmp_path)
    assert_clear_failure(result, "is full")
