"""Raw inotify for drop directories: renamed-in files are told apart from files being written."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import pytest

from ruleengine.sources.watch import inotify
from ruleengine.sources.watch.inotify import DirEvent, InotifyWatch, decode

pytestmark = pytest.mark.skipif(not inotify.available(), reason="inotify is Linux-only")


def raw(wd: int, mask: int, name: bytes) -> bytes:
    padded = name + b"\0" * (16 - len(name) % 16)
    return struct.pack("iIII", wd, mask, 0, len(padded)) + padded


def test_decode_maps_masks_to_kinds() -> None:
    buffer = b"".join(
        [
            raw(1, inotify.IN_MOVED_TO, b"a.json"),
            raw(1, inotify.IN_CREATE, b"b.json"),
            raw(1, inotify.IN_CLOSE_WRITE, b"b.json"),
            raw(1, inotify.IN_DELETE, b"c"),
            raw(1, inotify.IN_CREATE | inotify.IN_ISDIR, b"sub"),
            raw(9, inotify.IN_CREATE, b"unknown-watch"),
            raw(-1, inotify.IN_Q_OVERFLOW, b""),
        ]
    )
    assert decode(buffer, {1: "/d"}) == [
        DirEvent("moved", "", "/d/a.json"),
        DirEvent("created", "/d/b.json"),
        DirEvent("closed", "/d/b.json"),
        DirEvent("deleted", "/d/c"),
        DirEvent("created", "/d/sub", "", True),
        DirEvent("overflow", "", "", True),
    ]


def test_real_kernel_events(tmp_path: Path) -> None:
    seen: list[DirEvent] = []
    arrived = threading.Condition()

    def record(event: DirEvent) -> None:
        with arrived:
            seen.append(event)
            arrived.notify_all()

    drop, staging = tmp_path / "drop", tmp_path / "staging"
    drop.mkdir()
    staging.mkdir()
    watch = InotifyWatch(record, "test")
    assert watch.add(drop)
    assert not watch.add(drop, recursive=True)  # not supported: caller falls back to watchdog
    watch.start()
    try:
        (staging / "in.json").write_text("{}")
        os.rename(staging / "in.json", drop / "in.json")
        (drop / "w.json").write_text("{}")
        _ = (drop / "in.json").read_bytes()  # our own reads are not reported
        deadline = time.monotonic() + 5

        def closed() -> bool:  # the writer's close is the last event the test waits for
            return any(e.event_type == "closed" for e in seen)

        with arrived:
            while not closed() and time.monotonic() < deadline:
                arrived.wait(0.1)
    finally:
        watch.stop()
    kinds = [(e.event_type, Path(e.dest_path or e.src_path).name) for e in seen]
    assert kinds[0] == ("moved", "in.json")
    assert ("created", "w.json") in kinds and ("closed", "w.json") in kinds
    assert all(name != "in.json" for kind, name in kinds[1:])
