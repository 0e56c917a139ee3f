"""The real Debian logrotate against a running daemon (issue 15).

A separate writer process appends numbered lines and reopens its file on SIGHUP, as applications do
after logrotate's ``postrotate``. ``logrotate -f`` runs in a loop with each option the README names
(``create``, ``copytruncate``, ``dateext`` + ``dateformat``, ``compress``, ``delaycompress``,
``olddir``, ``rotate 5``, rotations in quick succession); the daemon is stopped (SIGTERM) across two
rotations and killed (SIGKILL) across one. Overlapping cases share a scenario to keep the module
within a minute or two. Every line
that still exists on disk afterwards, plain or compressed, must be delivered exactly once (one
duplicate per kill allowed); lines that exist in no file were destroyed by the rotation itself
(copytruncate's window) and are reported, not counted as ours.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

LOGROTATE = shutil.which("logrotate") or (
    "/usr/sbin/logrotate" if Path("/usr/sbin/logrotate").exists() else None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        LOGROTATE is None,
        reason="logrotate is not installed (apt-get install logrotate; .ci/run does)",
    ),
]
LINES, RATE = 1000, 250.0
WRITER = Path(__file__).parent / "support" / "logrotate_writer.py"
NUMBER = re.compile(rb"^line (\d+)$", re.MULTILINE)
OLDDIR = "olddir old\ncreateolddir 0755 root root"


@dataclass(frozen=True)
class Scenario:
    name: str
    directives: str
    hup: bool = True  # postrotate signals the writer (not with copytruncate)
    every: tuple[float, float] = (0.2, 0.6)  # seconds between rotations
    pairs: bool = False  # rotations come in pairs 0.25 s apart
    stop: str | None = None  # "term": stopped across two rotations; "kill": killed across one


SCENARIOS = [
    Scenario("copytruncate", "copytruncate", hup=False),
    # dateformat names change once a second: one rotation a second at most.
    Scenario("dateext", "create\ndateext\ndateformat -%Y%m%d-%H%M%S", every=(1.05, 1.3)),
    # Quick succession with compress: a generation may be rotated and compressed before the
    # daemon ever sees it; it is found as a .gz and read from it.
    Scenario("compress-quick", "create\ncompress", every=(0.1, 0.3)),
    Scenario("olddir-pairs", f"create\n{OLDDIR}", pairs=True),
    Scenario("delaycompress-stopped", "create\ncompress\ndelaycompress", stop="term"),
    Scenario("olddir-compress-stopped", f"create\ncompress\n{OLDDIR}", stop="term"),
    # Fast, so that rotate 5 deletes generations the killed daemon was still draining.
    Scenario("killed", "create", every=(0.1, 0.2), stop="kill"),
]


def rules_text(state: Path, log: Path, url: str, olddir: bool) -> str:
    rotated = f', rotated: ["{log.parent / "old"}"]' if olddir else ""
    return f"""
state_dir: {state}
destinations: {{hook: {{type: webhook, url: "{url}"}}}}
sources: {{app: {{type: logfile, paths: ["{log}"], start_at: beginning{rotated}}}}}
rules:
  - name: numbered
    source: app
    match: 'line (?P<n>\\d+)'
    message: '{{{{ n }}}}'
    to: [hook]
"""


def on_disk(directory: Path) -> set[int]:
    """Every numbered line in any file under ``directory`` whose name starts with app.log."""
    found: set[int] = set()
    for path in directory.rglob("app.log*"):
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        elif path.suffix == ".bz2":
            raw = bz2.decompress(raw)
        elif path.suffix == ".xz":
            raw = lzma.decompress(raw)
        found.update(int(n) for n in NUMBER.findall(raw))
    return found


class Rotator:
    def __init__(self, tmp: Path, log: Path, scenario: Scenario, writer_pid: int) -> None:
        post = (
            f"    postrotate\n        kill -HUP {writer_pid}\n    endscript\n"
            if scenario.hup
            else ""
        )
        body = "\n".join(f"    {line}" for line in scenario.directives.splitlines())
        self.conf = tmp / "logrotate.conf"
        self.conf.write_text(f"{log} {{\n    rotate 5\n    nomail\n{body}\n{post}}}\n")
        self.conf.chmod(0o644)
        self.state = tmp / "logrotate.state"
        self.count = 0

    def rotate(self) -> None:
        assert LOGROTATE is not None
        result = subprocess.run(
            [LOGROTATE, "-f", "-s", str(self.state), str(self.conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        self.count += 1


@dataclass
class Run:
    """One scenario against one daemon (restarted when the scenario stops it)."""

    scenario: Scenario
    rules: Path
    rotator: Rotator
    daemon: DaemonProcess
    outputs: list[str]
    kills: int = 0

    def drive(self, writer: subprocess.Popen[str]) -> None:
        """Rotate until the writer is done; stop or kill the daemon once, a third in."""
        rng = random.Random(self.scenario.name)
        scenario = self.scenario
        stop_at = time.monotonic() + LINES / RATE / 3
        while writer.poll() is None:
            time.sleep(rng.uniform(*scenario.every))
            if writer.poll() is not None:
                break
            if scenario.stop and time.monotonic() > stop_at:
                self.interrupt(scenario.stop)
                scenario = replace(scenario, stop=None)
                continue
            self.rotator.rotate()
            if scenario.pairs:
                time.sleep(0.25)
                self.rotator.rotate()

    def interrupt(self, how: str) -> None:
        if how == "kill":
            self.daemon.kill()
            self.kills += 1
        else:
            assert self.daemon.stop() == 0
        self.outputs.append(self.daemon.output)
        for _ in range(1 if how == "kill" else 2):
            self.rotator.rotate()
            time.sleep(0.3)
        self.daemon = DaemonProcess(self.rules).start()

    def settle(self, receiver: Receiver, disk: set[int]) -> None:
        """Wait for every line on disk, then a little longer for any duplicate; stop."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if disk <= {int(r.json()["text"]) for r in list(receiver.requests)}:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        assert self.daemon.stop() == 0
        self.outputs.append(self.daemon.output)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_line_on_disk_is_delivered_once(
    scenario: Scenario, tmp_path: Path, receiver: Receiver
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    logs.chmod(0o755)  # logrotate refuses group/world-writable parents
    log = logs / "app.log"
    log.touch()
    rules = tmp_path / "rules.yaml"
    olddir = "olddir" in scenario.directives
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, olddir))
    if olddir:
        (logs / "old").mkdir()
    daemon = DaemonProcess(rules).start()  # before the writer: every scenario rotates
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(log), str(LINES), str(RATE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    rotator = Rotator(tmp_path, log, scenario, writer.pid)
    run = Run(scenario, rules, rotator, daemon, [])
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        run.drive(writer)
        assert writer.wait(60) == 0
        assert rotator.count >= 3, "the scenario must actually rotate"
        disk = on_disk(logs)
        run.settle(receiver, disk)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
        run.daemon.close()
    delivered = Counter(int(r.json()["text"]) for r in receiver.requests)
    lost = sorted(disk - set(delivered))
    duplicates = sum(count - 1 for count in delivered.values())
    nowhere = LINES - len(disk | set(delivered))
    report = (
        f"{scenario.name}: {rotator.count} rotations, {len(disk)} lines on disk, "
        f"{len(delivered)} delivered, lost {len(lost)} {lost[:20]}, duplicates {duplicates}, "
        f"{nowhere} lines exist in no file"
    )
    print(report)
    assert not lost, report
    assert duplicates <= run.kills, report
    log_text = "\n".join(run.outputs)
    assert " lost" not in log_text, f"{report}\nfalse loss warning:\n{log_text}"
