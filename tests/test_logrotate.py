"""The real Debian logrotate against a running daemon (issue 15).

A separate writer process appends numbered lines and reopens its file on SIGHUP, as applications do
after logrotate's ``postrotate``. ``logrotate -f`` runs in a loop with each option the README names;
for some scenarios the daemon is stopped (SIGTERM) or killed (SIGKILL) across rotations. Every line
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess
from tests.receiver import Receiver

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
LINES, RATE = 1500, 200.0
WRITER = Path(__file__).with_name("logrotate_writer.py")
NUMBER = re.compile(rb"^line (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Scenario:
    name: str
    directives: str
    hup: bool = True  # postrotate signals the writer (not with copytruncate)
    every: tuple[float, float] = (0.2, 2.0)  # seconds between rotations
    pairs: bool = False  # rotations come in pairs 0.25 s apart
    stop: str | None = None  # "term": stopped across two rotations; "kill": killed across one


SCENARIOS = [
    Scenario("create", "create"),
    Scenario("copytruncate", "copytruncate", hup=False),
    Scenario("dateext", "create\ndateext\ndateformat -%Y%m%d-%H%M%S", every=(1.1, 2.0)),
    Scenario("compress", "create\ncompress"),
    Scenario("delaycompress", "create\ncompress\ndelaycompress"),
    Scenario("olddir", "create\nolddir old\ncreateolddir 0755 root root"),
    Scenario("olddir-pairs", "create\nolddir old\ncreateolddir 0755 root root", pairs=True),
    Scenario("quick", "create", every=(0.2, 0.4)),
    Scenario("delaycompress-stopped", "create\ncompress\ndelaycompress", stop="term"),
    Scenario("compress-stopped", "create\ncompress", stop="term"),
    Scenario("olddir-stopped", "create\nolddir old\ncreateolddir 0755 root root", stop="term"),
    Scenario("killed", "create", stop="kill"),
]


def rules_text(state: Path, log: Path, url: str) -> str:
    return f"""
state_dir: {state}
destinations: {{hook: {{type: webhook, url: "{url}"}}}}
sources: {{app: {{type: logfile, paths: ["{log}"], start_at: beginning}}}}
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
        (tmp / "logs" / "old").mkdir(exist_ok=True) if "olddir" in scenario.directives else None
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
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url))
    rng = random.Random(scenario.name)
    kills = 0
    daemon = DaemonProcess(rules).start()
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(log), str(LINES), str(RATE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    outputs: list[str] = []
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        rotator = Rotator(tmp_path, log, scenario, writer.pid)
        stopped_at = LINES / RATE / 3  # seconds into the run
        started = time.monotonic()
        while writer.poll() is None:
            time.sleep(rng.uniform(*scenario.every))
            if writer.poll() is not None:
                break
            if scenario.stop and daemon is not None and time.monotonic() - started > stopped_at:
                if scenario.stop == "kill":
                    daemon.kill()
                    kills += 1
                else:
                    assert daemon.stop() == 0
                outputs.append(daemon.output)
                for _ in range(1 if scenario.stop == "kill" else 2):
                    rotator.rotate()
                    time.sleep(0.3)
                daemon = DaemonProcess(rules).start()
                scenario = Scenario(
                    scenario.name, scenario.directives, scenario.hup, scenario.every
                )
                continue
            rotator.rotate()
            if scenario.pairs:
                time.sleep(0.25)
                rotator.rotate()
        assert writer.wait(60) == 0
        assert rotator.count >= 3, "the scenario must actually rotate"
        disk = on_disk(logs)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            delivered = Counter(int(r.json()["text"]) for r in list(receiver.requests))
            if disk <= set(delivered):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate that is on its way arrives now
        assert daemon.stop() == 0
        outputs.append(daemon.output)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
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
    assert duplicates <= kills, report
    log_text = "\n".join(outputs)
    assert " lost" not in log_text, f"{report}\nfalse loss warning:\n{log_text}"
