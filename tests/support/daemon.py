"""A real ``python -m ruleengine run`` subprocess for end-to-end, signal and reload tests.

The one daemon helper, with two ways to keep its output:

- ``DaemonProcess(rules)``: stdout and stderr together, read through a pipe into ``lines``;
- ``DaemonProcess(rules, workdir=tmp_path)``: stderr (the log) to ``workdir/daemon.log`` and
  stdout (console destinations) to ``workdir/daemon.out``, kept apart.

``with DaemonProcess(...) as d:`` starts it and waits until it logs that it runs (``ready=False``
skips the wait, for a log level that hides that line). Leaving the block kills a daemon the test
did not stop. Every output is recorded for the suite-wide secret check (``daemon_outputs``).

Crash tests that kill and restart a daemon many times while data flows use the bare ``spawn``
and ``sigkill`` instead: no output kept in memory, nothing awaited.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from signal import SIGKILL, SIGTERM
from typing import IO, Any

from tests.support import daemon_outputs

REPO = Path(__file__).resolve().parents[2]
READY_LOG = " running (pid "  # logged once every source is watching


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


def command(*args: str) -> list[str]:
    """``ruleengine ARGS`` as this interpreter runs it."""
    return [sys.executable, "-m", "ruleengine", *args]


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a one-shot ``ruleengine`` command and capture its output."""
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()


def _occurrences(text: str | re.Pattern[str], output: str) -> int:
    """Matches of a regex, or lines that contain a substring."""
    if isinstance(text, re.Pattern):
        return len(text.findall(output))
    return sum(text in line for line in output.splitlines())


class DaemonProcess:
    """One ``ruleengine run -c rules *args`` subprocess; see the module docstring."""

    def __init__(
        self,
        rules: Path,
        *args: str,
        workdir: Path | None = None,
        env: Mapping[str, str] | None = None,
        log_level: str | None = None,
        ready: bool = True,
    ) -> None:
        self.rules = rules
        self.args = (*(("--log-level", log_level) if log_level else ()), *args)
        self.env = {**os.environ, **(env or {})}
        self.ready = ready
        self.log_path = workdir / "daemon.log" if workdir is not None else None
        self.out_path = workdir / "daemon.out" if workdir is not None else None
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._files: list[IO[Any]] = []
        self._reader: threading.Thread | None = None
        self._recorded = False
        self.proc: subprocess.Popen[Any] | None = None

    # -- starting -----------------------------------------------------------------------------

    def start(self) -> DaemonProcess:
        argv = command("run", "-c", str(self.rules), *self.args)
        if self.log_path is not None and self.out_path is not None:
            err = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
            out = open(self.out_path, "ab")  # noqa: SIM115
            self._files += [err, out]
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=self.env)
        else:
            self.proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=self.env,
                text=True,
                errors="replace",
            )
            self._reader = threading.Thread(target=self._read, name="daemon-log", daemon=True)
            self._reader.start()
        if self.ready:
            try:
                self.wait_running()
            except AssertionError:
                self.kill()
                raise
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    # -- output -------------------------------------------------------------------------------

    @property
    def output(self) -> str:
        """Everything logged so far (piped: stdout and stderr; with a workdir: the log file)."""
        if self.log_path is not None:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        with self._cond:
            return "\n".join(self._lines)

    @property
    def lines(self) -> list[str]:
        if self.log_path is not None:
            return self.output.splitlines()
        with self._cond:
            return list(self._lines)

    def wait_for_log(
        self, text: str | re.Pattern[str], timeout: float = 20.0, count: int = 1
    ) -> str:
        """Block until ``text`` (a substring, or a compiled regex) was logged ``count`` times.

        Returns the output at that point; fails the test if the daemon exits first or time runs out.
        """
        deadline = time.monotonic() + timeout
        while True:
            exited = self.proc is not None and self.proc.poll() is not None and not self._reading()
            output = self.output  # read after the exit check: it holds the last lines
            if _occurrences(text, output) >= count:
                return output
            if exited:
                assert self.proc is not None
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before logging {text!r}:\n{output}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"daemon never logged {text!r} within {timeout}s:\n{output}")
            with self._cond:
                self._cond.wait(0.05)

    def _reading(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def wait_running(self) -> None:
        self.wait_for_log(READY_LOG)

    # -- stopping -----------------------------------------------------------------------------

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, sig: int = SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig``, wait for the exit and return its code; fail if it does not stop."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.close()
            raise AssertionError(f"daemon did not stop; output:\n{self.output}") from None
        self.close()
        return code

    def kill(self) -> None:
        self.stop(SIGKILL)

    def close(self) -> None:
        """Kill the daemon if it still runs, release its output and record it (once)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        for handle in self._files:
            handle.close()
        self._files.clear()
        if not self._recorded and self.proc is not None:
            self._recorded = True
            daemon_outputs.record(os.environ.get("PYTEST_CURRENT_TEST", "?"), self.output)

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- bare processes, for kill -9 loops ------------------------------------------------------------


def spawn(
    rules: Path, *args: str, log: Path | None = None, output: bool = False
) -> subprocess.Popen[bytes]:
    """``ruleengine run -c rules [ARGS]`` in the rules file's folder (relative paths resolve
    there).

    Its log is appended to ``log`` (default ``daemon.log`` beside the rules file): a file, as a
    pipe nobody reads while the test waits could fill up and block it. Console output goes
    there too with ``output``, else nowhere. The caller stops it (``sigkill`` or ``stop``).
    """
    with open(log or rules.parent / "daemon.log", "ab") as out:
        return subprocess.Popen(
            command("run", "-c", str(rules), *args),
            stdout=out if output else subprocess.DEVNULL,
            stderr=out,
            cwd=rules.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, then its exit code."""
    process.send_signal(SIGTERM)
    return process.wait(timeout)


def sigkill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(SIGKILL)
    process.wait(10)
