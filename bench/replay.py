"""Replay throughput (``ruleengine test --file``) against grep and a naive loop; backlog RSS."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure, ruleengine
from bench.gen import patterns, rules_yaml, write_log
from bench.measure import wait_peak_rss

REPEAT = 3  # runs of each timed command; the best one is reported


def _grep_count(regexes: list[str], log: Path) -> tuple[int, float]:
    joined = "|".join(re.sub(r"\(\?P<\w+>", "(?:", p) for p in regexes)
    start = time.perf_counter()
    done = subprocess.run(
        ["grep", "-cP", joined, str(log)], capture_output=True, text=True, check=False
    )
    return int(done.stdout.strip() or 0), time.perf_counter() - start


def _naive_count(regexes: list[str], log: Path) -> tuple[int, float]:
    compiled = [re.compile(p) for p in regexes]
    matched = 0
    start = time.perf_counter()
    with log.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            for rx in compiled:
                if rx.search(line):
                    matched += 1
    return matched, time.perf_counter() - start


def replay(rules: Path, log: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS (MB) and the JSON report of ``ruleengine test --file --json``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ruleengine("test", "-c", str(rules), "--file", str(log), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Read the pipes in threads while the peak RSS is polled: read first, the child would be
    # a zombie with no VmHWM by the time it is polled, and wait4's figure counts the bench
    # process itself (mapped between fork and exec: 179 MB for a 52 MB replay in a full run).
    output: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda k=k, p=p: output.__setitem__(k, p.read()), daemon=True)
        for k, p in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    code, peak = wait_peak_rss(proc)
    for reader in readers:
        reader.join()
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"ruleengine test --file failed ({code}):\n{output['stderr'][-2000:]!r}")
    report: dict[str, Any] = json.loads(output["stdout"])["sources"]["log"]
    return elapsed, peak, report


def _startup(rules: Path) -> float:
    """Wall seconds of a one-line dry run: what every ``ruleengine`` command pays up front."""
    start = time.perf_counter()
    subprocess.run(
        ruleengine("test", "-c", str(rules), "--line", "x"), capture_output=True, check=True
    )
    return time.perf_counter() - start


def throughput(work: Path, lines: int, naive_lines: int) -> list[Figure]:
    log = work / "replay.log"
    write_log(log, lines)
    figures: list[Figure] = []
    speeds: dict[int, float] = {}
    for count in (20, 200):
        regexes = patterns(count)
        rules = work / f"rules{count}.yaml"
        rules.write_text(rules_yaml(regexes, str(log), str(work / f"state{count}")))
        # Best of REPEAT: on a shared machine the slowest runs measure the neighbours.
        runs = [replay(rules, log) for _ in range(REPEAT)]
        elapsed, _peak, report = max(runs, key=lambda run: run[2]["lines_per_second"])
        # The replay's own clock: the daemon's matching path, without interpreter start-up.
        speeds[count] = float(report["lines_per_second"])
        matched = sum(report["rules"].values())
        if count != 20:
            continue
        grep_matched, grep_s = _grep_count(regexes, log)
        if matched != grep_matched:  # each generated line matches at most one rule
            raise RuntimeError(f"ruleengine matched {matched} lines, grep {grep_matched}")
        small = work / "naive.log"
        write_log(small, naive_lines)
        _naive_matched, naive_s = _naive_count(regexes, small)
        grep_speed, naive_speed = lines / grep_s, naive_lines / naive_s
        figures += [
            Figure(
                "replay 20 rules",
                "throughput",
                speeds[20],
                "lines/s",
                ">= 2,000,000",
                speeds[20] >= 2_000_000,
                f"{lines:,} lines, {matched} matches; {lines / elapsed:,.0f}/s with start-up",
            ),
            Figure(
                "replay 20 rules",
                "vs grep -cP",
                speeds[20] / grep_speed,
                "x",
                ">= 0.5",
                speeds[20] / grep_speed >= 0.5,
                f"grep {grep_speed:,.0f} lines/s",
            ),
            Figure(
                "replay 20 rules",
                "vs naive Python loop",
                speeds[20] / naive_speed,
                "x",
                ">= 5",
                speeds[20] / naive_speed >= 5,
                f"naive {naive_speed:,.0f} lines/s",
            ),
        ]
    startup = min(_startup(work / "rules20.yaml") for _ in range(3))
    figures.append(
        Figure(
            "start-up (not in replay)",
            "test --line wall",
            startup,
            "s",
            "",
            None,
            "interpreter, imports, config, rule compile (20 rules)",
        )
    )
    figures.append(
        Figure(
            "replay 200 rules",
            "vs 20 rules",
            speeds[200] / speeds[20],
            "x",
            ">= 0.5",
            speeds[200] / speeds[20] >= 0.5,
            f"{speeds[200]:,.0f} lines/s",
        )
    )
    return figures


def backlog(work: Path, gigabytes: float) -> list[Figure]:
    log = work / "backlog.log"
    write_log(log, 0, seed=11, min_bytes=int(gigabytes * 1024**3))
    size_gb = log.stat().st_size / 1024**3
    rules = work / "backlog.yaml"
    rules.write_text(rules_yaml(patterns(20), str(log), str(work / "backlog-state")))
    elapsed, peak, report = replay(rules, log)
    log.unlink()
    rate = size_gb * 1024 / float(report["seconds"])
    return [
        Figure(
            f"backlog {size_gb:.2f} GB replay",
            "peak RSS",
            peak,
            "MB",
            "<= 100",
            peak <= 100,
            f"{report['lines']:,} lines in {elapsed:.1f} s ({rate:,.0f} MB/s replay)",
        )
    ]
