"""Real journal files for tests: export-format streams turned into journal files by Debian's
``systemd-journal-remote`` (the package of that name), read back by ``journalctl``."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

REMOTE = next(
    (
        p
        for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
        if Path(p).is_file()
    ),
    None,
)
needs_journal = pytest.mark.skipif(
    REMOTE is None or shutil.which("journalctl") is None,
    reason="needs journalctl and systemd-journal-remote (apt-get install systemd-journal-remote)",
)
BOOT = "0123456789abcdef0123456789abcdef"
_clock = itertools.count(1)
_lock = threading.Lock()
_last = 0

Fields = Mapping[str, str | bytes]


def _stamps() -> tuple[int, int]:
    """(realtime, monotonic) in µs, strictly increasing across the test run."""
    global _last  # noqa: PLW0603 - one clock for every journal a test run writes
    with _lock:
        _last = max(_last + 1, time.time_ns() // 1000)
        return _last, next(_clock)


def export(entries: Iterable[Fields]) -> bytes:
    """The export format of ``entries``; values with a newline or raw bytes go binary."""
    out = bytearray()
    for fields in entries:
        realtime, monotonic = _stamps()
        out += f"__REALTIME_TIMESTAMP={realtime}\n__MONOTONIC_TIMESTAMP={monotonic}\n".encode()
        out += f"_BOOT_ID={BOOT}\n".encode()
        for name, value in fields.items():
            data = value if isinstance(value, bytes) else value.encode()
            if isinstance(value, bytes) or b"\n" in data:
                out += name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
            else:
                out += name.encode() + b"=" + data + b"\n"
        out += b"\n"
    return bytes(out)


def write(journal: Path, entries: Iterable[Fields]) -> None:
    """Append entries to a journal file (created if missing)."""
    assert REMOTE is not None
    journal.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [REMOTE, f"--output={journal}", "-"],
        input=export(entries),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise OSError(f"systemd-journal-remote exited with {done.returncode}: {said}")


def entry(message: str, **fields: str | bytes) -> dict[str, str | bytes]:
    return {"MESSAGE": message, "PRIORITY": "6", **fields}
