"""Daemon catch-up (issue 12): ``ruleengine run`` reads a 1M-line log as a backlog, every match
delivered to a console destination, against ``swatchdog --examine`` on the same file and rules
and against the dry run (``test --file``), all measured in the same run.

Two daemon figures: lines/s from the engine's own counters (logged at stop: first batch to last
commit), and the whole process from start to the last delivery printed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from bench.figures import Figure, ruleengine
from bench.gen import patterns, rules_yaml, write_log
from bench.replay import REPEAT, replay

_COUNTERS = re.compile(
    r"engine: (?P<lines>\d+) lines, \d+ other events, (?P<matched>\d+) matched, "
    r"(?P<notes>\d+) notifications in (?P<span>[\d.]+) s "
    r"\(\d+ lines/s; (?P<cpu>[\d.]+) s of engine CPU"
)


def swatchdog_seconds(regexes: list[str], log: Path, work: Path) -> tuple[float, int] | None:
    """Whole-process seconds and matches of ``swatchdog --examine``; None when not installed."""
    if shutil.which("swatchdog") is None:
        return None
    config = work / "swatchrc"
    config.write_text(
        "".join(f"watchfor /{p.replace('/', chr(92) + '/')}/\n  echo\n" for p in regexes)
    )
    start = time.perf_counter()
    done = subprocess.run(
        ["swatchdog", f"--config-file={config}", f"--examine={log}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    )
    elapsed = time.perf_counter() - start
    return elapsed, sum(1 for line in done.stdout.splitlines() if "Nov " in line)  # after ESC[0m


def daemon_catchup(
    rules: Path, expected: int, timeout: float = 600.0
) -> tuple[float, dict[str, float]]:
    """(seconds from start to the last delivery, the engine's counters) of ``ruleengine run``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ruleengine("run", "-c", str(rules)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    delivered, last = 0, start
    deadline = time.monotonic() + timeout
    for _line in proc.stdout:
        delivered += 1
        if delivered >= expected:
            last = time.perf_counter()
            break
        if time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    proc.stdout.read()
    proc.wait(60)
    reader.join(10)
    if delivered < expected:
        raise RuntimeError(f"daemon delivered {delivered}/{expected}:\n{''.join(errors)[-2000:]}")
    found = _COUNTERS.search("".join(errors))
    if found is None:
        raise RuntimeError(f"no engine counters in the daemon log:\n{''.join(errors)[-2000:]}")
    counters = {k: float(v) for k, v in found.groupdict().items()}
    return last - start, counters


def catchup(work: Path, lines: int) -> list[Figure]:
    log = work / "catchup.log"
    write_log(log, lines)
    os.sync()  # the log's pages reach the disk now, not during the daemon's own fsyncs
    regexes = patterns(20)
    rules = work / "catchup.yaml"
    rules.write_text(
        rules_yaml(regexes, str(log), str(work / "state")).replace(
            "stream: stderr", "stream: stdout"
        )
    )
    # Best of REPEAT for every timed command, references included. The first run of each
    # compiles the rules (an empty compile cache), the others load them: both are reported.
    cache = Path(os.environ.get("RULEENGINE_CACHE_DIR", work / "compile-cache"))
    shutil.rmtree(cache, ignore_errors=True)
    replays = [replay(rules, log) for _ in range(REPEAT)]
    replay_cold = replays[0][0]
    replay_s, _peak, report = min(replays[1:], key=lambda r: r[0])
    expected = int(report["notifications"])
    shutil.rmtree(cache, ignore_errors=True)
    runs = []
    for _ in range(REPEAT + 1):
        shutil.rmtree(work / "state", ignore_errors=True)  # a backlog each time, not a restart
        runs.append(daemon_catchup(rules, expected))
    whole_cold = runs[0][0]
    whole, counters = min(runs[1:], key=lambda run: run[0])
    per_cpu = counters["lines"] / max(counters["cpu"], 1e-9) / 1e6
    rate = max(c["lines"] / c["span"] for _w, c in runs if c["span"])
    figures = [
        Figure(
            "catch-up 20 rules",
            "daemon lines/s",
            rate,
            "lines/s",
            ">= 1,500,000",
            rate >= 1_500_000,
            f"engine counters: {counters['lines']:,.0f} lines, {counters['notes']:,.0f} "
            f"delivered; whole process {whole:.2f} s; the engine's own CPU "
            f"{counters['cpu']:.2f} s ({per_cpu:.2f}M lines "
            "per CPU second: the span is shared with the delivery thread under one GIL)",
        )
    ]
    timed = [swatchdog_seconds(regexes, log, work) for _ in range(REPEAT)]
    swatch = min((t for t in timed if t is not None), default=None)
    if swatch is None:
        print("swatchdog not installed (Debian package swatch): no reference for catch-up")
        return figures
    swatch_s, swatch_matched = swatch
    figures += [
        Figure(
            "catch-up 20 rules",
            "daemon vs swatchdog",
            swatch_s / whole,
            "x",
            ">= 3",
            swatch_s / whole >= 3,
            f"swatchdog --examine {swatch_s:.2f} s ({swatch_matched:,} matches), "
            f"daemon {whole:.2f} s start to last delivery (rules compiled before; compiling "
            f"them first: {whole_cold:.2f} s, {swatch_s / whole_cold:.2f}x)",
        ),
        Figure(
            "replay 20 rules",
            "test --file vs swatchdog",
            swatch_s / replay_s,
            "x",
            ">= 5",
            swatch_s / replay_s >= 5,
            f"test --file {replay_s:.2f} s whole process (rules compiled before; compiling "
            f"them first: {replay_cold:.2f} s, {swatch_s / replay_cold:.2f}x)",
        ),
    ]
    return figures
