"""Process measurements for benchmarks: CPU time, current and peak RSS of a child process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds consumed so far by ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_peak_rss(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 600.0
) -> tuple[int, float]:
    """Wait for ``proc``; return (exit code, its own peak RSS in MB).

    The peak is the highest ``VmHWM`` read from /proc while it runs (every 20 ms), not
    wait4's ``ru_maxrss``: the latter also counts the moment between fork and exec, when the
    child still maps the bench process itself, so a bench process grown by earlier workloads
    (180 MB once, in a full run) became the "peak" of a 52 MB replay.
    """
    deadline = time.monotonic() + timeout
    peak = 0.0
    while True:
        with contextlib.suppress(OSError, ValueError):  # gone, or a zombie without VmHWM
            peak = max(peak, rss_mb(proc.pid, "VmHWM"))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, peak or usage.ru_maxrss / 1024
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{proc.args!r} did not finish in {timeout}s")
        time.sleep(0.02)
