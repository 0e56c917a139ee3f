"""A real ``python -m ruleengine run`` subprocess for daemon, signal and reload tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from tests import daemon_outputs

REPO = Path(__file__).resolve().parents[1]


def rules_text(state_dir: Path, log: Path, url: str, message: str, extra_rules: str = "") -> str:
    """A rules file: one log file → one webhook (the test receiver)."""
    return f"""\
state_dir: {state_dir}
destinations:
  hook:
    type: webhook
    url: "{url}/hook"
    timeout: 10s
    retry: {{ backoff: 0.1s, backoff_max: 0.5s }}
sources:
  app:
    type: logfile
    paths: ["{log}"]
    start_at: end
rules:
  - name: errors
    source: app
    match: 'ERROR (?P<what>.*)'
    message: "{message}"
    to: [hook]
{extra_rules}"""


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a one-shot ``ruleengine`` command and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "ruleengine", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


class DaemonProcess:
    """``with DaemonProcess(rules, tmp_path) as d:`` starts the daemon; leaving stops it."""

    def __init__(
        self,
        rules: Path,
        workdir: Path,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_path = workdir / "daemon.log"
        self.out_path = workdir / "daemon.out"
        self._files: list[IO[Any]] = []
        err = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
        out = open(self.out_path, "ab")  # noqa: SIM115
        self._files += [err, out]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ruleengine",
                "run",
                "-c",
                str(rules),
                "--log-level",
                "debug",
                *args,
            ],
            stdout=out,
            stderr=err,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 20.0, count: int = 1) -> str:
        """Block until ``pattern`` (a regex) appears ``count`` times in the daemon's log."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log
            if len(re.findall(pattern, text)) >= count:
                return text
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before {pattern!r}:\n{text}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not logged within {timeout}s:\n{text}")
            time.sleep(0.05)

    def wait_running(self) -> None:
        self.wait_for_log(r"running \(pid")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for handle in self._files:
            handle.close()
        daemon_outputs.record(os.environ.get("PYTEST_CURRENT_TEST", "?"), self.log)

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
