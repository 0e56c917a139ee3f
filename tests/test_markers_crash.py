"""Thousands of markers at once, ``kill -9`` in the middle, restart: exactly one notification each.

A real ``python -m ruleengine run`` subprocess; its console destination writes to /dev/null and
the test counts outbox rows per marker in the state database (what "enqueued" means).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.support.daemon import spawn
from tests.support.markerkit import names
from tests.support.outbox import outbox
from tests.support.payloads import PS51_JSON, ps51_out_file
from tests.support.poll import eventually

BAD_EVERY = 50  # one marker in 50 is bad (alternately invalid JSON and binary)


GOOD = (  # (extension, bytes of marker n): every format and encoding
    ("json", lambda n: f'{{"n": {n}}}'.encode()),
    ("yaml", lambda n: f"n: {n}\nvm: web-{n}\n".encode()),
    ("kv", lambda n: f"n={n}\r\nok=yes\r\n".encode()),
    ("txt", lambda n: f"marker number {n}\n".encode()),
    ("json", lambda n: b""),
    ("ps.json", lambda n: ps51_out_file(PS51_JSON)),
)


def marker(index: int) -> tuple[str, bytes, bool]:
    """Name, bytes and goodness of marker ``index``: mixed formats, one in 50 bad."""
    if index % BAD_EVERY == BAD_EVERY - 1:
        if index % (2 * BAD_EVERY) == BAD_EVERY - 1:
            return f"m{index:05d}.json", b'{"n": ' + str(index).encode(), False
        return f"m{index:05d}.kv", b"n=1\x00\x01\x02", False
    extension, make = GOOD[index % len(GOOD)]
    return f"m{index:05d}.{extension}", make(index), True


def count_rows(state: Path) -> Counter[str]:
    """Outbox rows per marker file name (none while the daemon has not created the database)."""
    records = outbox(state, missing_ok=True)
    return Counter(str(record["fields"].get("file")) for record in records)


def run_crash_test(tmp_path: Path, total: int) -> None:
    drop, staging, state = tmp_path / "drop", tmp_path / "staging", tmp_path / "state"
    drop.mkdir()
    staging.mkdir()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "state_dir": str(state),
                "defaults": {"to": ["terminal"]},
                "destinations": {"terminal": {"type": "console", "color_output": "never"}},
                "sources": {"drop": {"type": "markers", "directory": str(drop), "settle": "300ms"}},
                "rules": [{"name": "each", "source": "drop", "message": "{{ file }}"}],
            }
        )
    )
    good, bad = set(), set()
    for index in range(total):
        name, data, ok = marker(index)
        (staging / name).write_bytes(data)
        (good if ok else bad).add(name)

    log = tmp_path / "daemon.log"
    daemon = spawn(rules, "--log-level", "info", log=log)
    try:
        eventually((state / "state.db").exists, timeout=30, what="the daemon to start")
        for name in sorted(good | bad):  # dropped at once: renamed in, as atomic writers do
            os.rename(staging / name, drop / name)
        eventually(
            lambda: sum(count_rows(state).values()) >= len(good) // 3,
            timeout=120,
            what="a third of the markers to be enqueued",
        )
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(30)
        killed_at = sum(count_rows(state).values())
        assert killed_at < len(good), "the kill came too late to test anything"

        daemon = spawn(rules, "--log-level", "info", log=log)
        eventually(
            lambda: names(drop) == ["failed", "processed"],
            timeout=180,
            what="every marker to be handled after the restart",
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(30)

    rows = count_rows(state)
    assert set(rows) == good, f"missing: {sorted(good - set(rows))[:5]}"
    assert [n for n, c in rows.items() if c != 1] == []
    archived = {n for n in names(drop / "processed") if n in good}
    assert archived == good
    failed = set(names(drop / "failed"))
    assert {n for n in failed if not n.endswith(".reason")} <= bad | {f"{n}.1" for n in bad}
    for name in bad:
        assert name in failed and f"{name}.reason" in failed, name
        assert (drop / "failed" / f"{name}.reason").read_text().strip()
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.mark.slow
def test_ten_thousand_markers_survive_kill_9(tmp_path: Path) -> None:
    """The issue's test. About 25 s on 2 shared cores, so it runs by default (and in CI)."""
    run_crash_test(tmp_path, 10_000)
