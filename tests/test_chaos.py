"""Crash chaos: kill -9 the daemon again and again while logs grow (and rotate) and markers pour
in, with a receiver that fails at random. Afterwards every event must have been delivered at
least once, with at most one duplicate per kill, no marker left and no outbox row stuck.

This is the delivery guarantee of DESIGN.md checked the hard way (issue 9). The numbers of each
run are printed (``pytest -s``) and written to ``chaos-report.json`` in the test's tmp dir.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.outbox import outbox_rows
from tests.support.receiver import Receiver, Reply, Request

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(300)]

LINES, MARKERS, KILLS, ROTATE_EVERY = 5000, 1000, 20, 500
KILLS_IN_BACKLOG = 5  # of KILLS: after the load, while the backlog goes out at full speed
MISSED_ROTATION_EVERY = 4  # every 4th kill, the log rotates while the daemon is down
CLIENT_TIMEOUT = 0.3
QUIET = 3.0  # seconds without progress (and nothing pending) that end the final drain
DRAIN_LIMIT = 90.0

RULES = """\
state_dir: state
defaults: {{to: [hook]}}
destinations:
  hook:
    type: webhook
    url: "{url}/hook"
    timeout: {timeout}
    retry: {{backoff: 0.05s, backoff_max: 0.5s}}
sources:
  app: {{type: logfile, paths: [logs/app.log], start_at: beginning}}
  drops: {{type: markers, directory: drops, after: delete}}
rules:
  - name: line
    source: app
    match: 'chaos seq=(?P<seq>\\d+)'
    message: "line {{{{ seq }}}}"
  - name: marker
    source: drops
    file: 'm-(?P<seq>\\d+)\\.json'
    message: "marker {{{{ seq }}}}"
"""

Key = tuple[str, int]


def chaotic(rng: random.Random) -> Reply:
    roll = rng.random()
    if roll < 0.08:
        return Reply(status=500, body="internal error")
    if roll < 0.16:
        return Reply(status=429, headers={"Retry-After": "0.2"}, body="slow down")
    if roll < 0.22:
        return Reply(status=200, delay=CLIENT_TIMEOUT * 2)  # accepted, but the client gave up
    return Reply(status=200)


@dataclass
class Load:
    """The writer and the dropper, in threads, and what they have done so far."""

    root: Path
    rotate: bool
    stop: threading.Event = field(default_factory=threading.Event)
    rotations: int = 0
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self._write, name="chaos-writer"),
            threading.Thread(target=self._drop, name="chaos-dropper"),
        ]
        for thread in self.threads:
            thread.start()

    def done(self) -> bool:
        return not any(thread.is_alive() for thread in self.threads)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _write(self) -> None:
        """Append LINES matching lines; with ``rotate``, rename the file away every ROTATE_EVERY."""
        logs = self.root / "logs"
        log = logs / "app.log"
        for seq in range(LINES):
            if self.stop.is_set():
                return
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"Nov 27 10:00:00 host app[1]: chaos seq={seq} filler text\n")
            if self.rotate and seq % ROTATE_EVERY == ROTATE_EVERY - 1:
                os.rename(log, logs / f"app.log.{self.rotations + 1}")
                self.rotations += 1
            time.sleep(0.003)

    def _drop(self) -> None:
        drops, staging = self.root / "drops", self.root / "staging"
        for seq in range(MARKERS):
            if self.stop.is_set():
                return
            temp = staging / f"m-{seq}.json"
            temp.write_text(json.dumps({"seq": seq}), encoding="utf-8")
            os.rename(temp, drops / temp.name)
            time.sleep(0.015)


class Tally:
    """Incremental view of what the receiver accepted, per event (rule, seq)."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.seen = 0
        self.in_time: collections.Counter[Key] = collections.Counter()
        self.late: collections.Counter[Key] = collections.Counter()  # 2xx after client gave up
        self.keys: dict[Key, set[str]] = collections.defaultdict(set)
        self.replies: collections.Counter[str] = collections.Counter()  # how requests were met

    def update(self) -> int:
        requests: list[Request] = self.receiver.requests[self.seen :]
        self.seen += len(requests)
        for request in requests:
            if len(request.body) != int(request.headers.get("Content-Length") or 0):
                # The daemon was killed mid-request: a real service rejects a cut-off body.
                self.replies["cut_off_by_kill"] += 1
                continue
            late = request.reply.delay >= CLIENT_TIMEOUT
            self.replies["late" if late else str(request.reply.status)] += 1
            if request.reply.status != 200:
                continue
            body = request.json()
            key = (body["rule"], int(body["fields"]["seq"]))
            self.keys[key].add(request.headers.get("Idempotency-Key", ""))
            if not late:
                self.in_time[key] += 1
            else:
                self.late[key] += 1
        return len(self.in_time)


def pending_rows(state_db: Path) -> int:
    if not state_db.exists():
        return -1
    try:
        return len(outbox_rows(state_db, state_is="pending"))
    except sqlite3.Error:
        return -1


def drain(tally: Tally, expected: set[Key], root: Path) -> float:
    """Wait until every event arrived, or nothing moves any more; returns seconds waited."""
    start = last_change = time.monotonic()
    last = -1
    while time.monotonic() - start < DRAIN_LIMIT:
        count = tally.update()
        if expected <= set(tally.in_time):
            break
        if count != last:
            last, last_change = count, time.monotonic()
        idle = time.monotonic() - last_change > QUIET
        drops_empty = not any(p.is_file() for p in (root / "drops").iterdir())
        if idle and drops_empty and pending_rows(root / "state" / "state.db") == 0:
            break  # settled: what is missing now will never come
        time.sleep(0.25)
    return time.monotonic() - start


@pytest.mark.parametrize(
    "rotate",
    [
        pytest.param(True, id="rotating"),
        pytest.param(False, id="one-file"),
    ],
)
def test_kill_nine_twenty_times_loses_nothing(
    tmp_path: Path, receiver: Receiver, rotate: bool
) -> None:
    rng = random.Random(20261127)
    receiver.responder = lambda: chaotic(rng)
    for name in ("logs", "drops", "staging"):
        (tmp_path / name).mkdir()
    (tmp_path / "logs" / "app.log").touch()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=receiver.url, timeout=CLIENT_TIMEOUT), encoding="utf-8")

    load = Load(tmp_path, rotate)
    tally = Tally(receiver)
    expected = {("line", s) for s in range(LINES)} | {("marker", s) for s in range(MARKERS)}
    kills = missed_rotations = 0
    started = time.monotonic()
    daemon = DaemonProcess(rules).start()
    load.start()
    try:
        while kills < KILLS - KILLS_IN_BACKLOG:
            time.sleep(rng.uniform(0.2, 1.0))
            daemon.kill()
            kills += 1
            if rotate and kills % MISSED_ROTATION_EVERY == 0 and not load.done():
                # Make sure restarts after a missed rotation are exercised, not left to luck.
                before = load.rotations
                deadline = time.monotonic() + 10
                while load.rotations == before and not load.done() and time.monotonic() < deadline:
                    time.sleep(0.01)
                missed_rotations += load.rotations > before
            daemon = DaemonProcess(rules).start()
        load.join(120)
        assert load.done(), "the writer or the dropper did not finish"

        # A healthy receiver now: the backlog goes out fast, so these kills hit sends in
        # flight (the duplicate-prone moment), then the final drain.
        receiver.responder = None
        backlog = pending_rows(tmp_path / "state" / "state.db")
        while kills < KILLS:
            time.sleep(rng.uniform(0.1, 0.5))
            daemon.kill()
            kills += 1
            daemon = DaemonProcess(rules).start()
        drained = drain(tally, expected, tmp_path)
        assert daemon.stop(signal.SIGTERM) == 0
    finally:
        load.stop.set()
        load.join(10)
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()

    tally.update()
    missing = expected - set(tally.in_time)
    duplicates = sum(count - 1 for count in tally.in_time.values())
    late = sum(tally.late.values())
    left = sorted(p.name for p in (tmp_path / "drops").iterdir() if p.is_file())
    states = dict(collections.Counter(row["state"] for row in outbox_rows(tmp_path / "state")))
    report = {
        "variant": "rotating" if rotate else "one-file",
        "events": len(expected),
        "kills": kills,
        "kills_while_draining_backlog": KILLS_IN_BACKLOG,
        "backlog_after_load": backlog,
        "missed_rotations": missed_rotations,
        "requests": len(receiver.requests),
        "replies": dict(tally.replies),
        "lost": len(missing),
        "duplicates": duplicates,
        "duplicates_by_rule": dict(
            collections.Counter(
                rule for (rule, _), count in tally.in_time.items() for _ in range(count - 1)
            )
        ),
        "late_2xx_after_client_timeout": late,
        "markers_left": len(left),
        "outbox": states,
        "drain_s": round(drained, 1),
        "total_s": round(time.monotonic() - started, 1),
    }
    (tmp_path / "chaos-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nchaos: {json.dumps(report)}")

    assert not missing, f"lost {len(missing)} events, e.g. {sorted(missing)[:10]}"
    assert duplicates <= kills
    # Every copy of an event (in time or late) carried the same key, so a service can dedupe.
    assert all(len(keys) == 1 and "" not in keys for keys in tally.keys.values())
    assert left == []
    assert set(states) == {"delivered"}
