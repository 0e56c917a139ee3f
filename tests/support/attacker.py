"""An unprivileged attacker for drop-directory tests, and a place it can reach.

When the suite runs as root (as CI does) the attacker is ``nobody``: each step is a small Python
program run with its uid and gid (``preexec_fn`` drops the privileges before ``exec``). Otherwise
it is the current user, so only the attacks that need no privilege boundary are meaningful.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = os.geteuid() == 0

# Helpers every attack program starts with: write a marker atomically (its mtime optional).
PRELUDE = """\
import os, sys, time
def drop(path, content, mtime=None):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as handle:
        handle.write(content)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.rename(tmp, path)
"""


class Attacker:
    """Runs attack programs as ``nobody`` (as root) or as the current user."""

    def __init__(self) -> None:
        if ROOT:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.privileged_daemon = ROOT  # the daemon runs as root, the attacker does not
        self.python = self._interpreter()

    def _drop(self) -> Callable[[], None] | None:
        if not ROOT:
            return None
        uid, gid = self.uid, self.gid

        def drop_privileges() -> None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

        return drop_privileges

    def _interpreter(self) -> str:
        """A Python the attacker may execute (this venv may live under /root)."""
        for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
            if candidate is None:
                continue
            try:
                probe = subprocess.run(
                    [candidate, "-c", "pass"],
                    preexec_fn=self._drop(),
                    capture_output=True,
                    check=False,
                    timeout=30,
                    cwd="/",
                )
            except OSError:  # not executable by that user
                continue
            if probe.returncode == 0:
                return candidate
        pytest.skip("no Python interpreter the unprivileged user may run")

    def run(self, program: str, *args: str | Path) -> None:
        """Run one attack step to its end; a failing step fails the test."""
        done = subprocess.run(
            [self.python, "-c", PRELUDE + program, *map(str, args)],
            preexec_fn=self._drop(),
            capture_output=True,
            text=True,
            cwd="/",
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, f"attack step failed:\n{done.stderr}"

    def start(self, program: str, *args: str | Path) -> subprocess.Popen[str]:
        """Start an attack step that runs alongside the daemon (wait for it with ``finish``)."""
        return subprocess.Popen(
            [self.python, "-c", PRELUDE + program, *map(str, args)],
            preexec_fn=self._drop(),  # noqa: PLW1509 - only setuid/setgid before exec
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
        )

    @staticmethod
    def finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"attack step failed:\n{err}"
        return out


@contextlib.contextmanager
def reachable_dir() -> Iterator[Path]:
    """A directory under /tmp the attacker can reach (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="ruleengine-attack-", dir="/tmp"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, tuple[int, bytes, int]]:
    """Everything about a victim directory an attack could change: names, modes, contents,
    mtimes (of the directory itself too)."""
    found: dict[str, tuple[int, bytes, int]] = {}
    info = folder.lstat()
    found["."] = (info.st_mode, b"", info.st_mtime_ns)
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        found[path.relative_to(folder).as_posix()] = (info.st_mode, data, info.st_mtime_ns)
    return found
