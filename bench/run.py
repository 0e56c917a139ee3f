"""Run the benchmarks of issue 8 and print a table; figures also go to bench/out/results.json.

    ./dev bench            # full run (1M-line replay, 1,000-event latency, 10,000-marker burst,
                           #  60 s idle, 1 GB backlog)
    ./dev bench --quick    # the same workloads, smaller (a minute or two)

Each figure is quoted beside a reference measured in the same run where one exists (grep, a
naive Python loop). Data is generated deterministically (bench/gen.py); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.gen import patterns, rules_yaml, write_log
from bench.measure import cpu_seconds, rss_mb, wait_peak_rss
from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Figure:
    workload: str
    metric: str
    value: float
    unit: str
    target: str
    ok: bool | None
    reference: str = ""


def _ruleengine(*args: str) -> list[str]:
    return [sys.executable, "-m", "ruleengine", *args]


# -- 1. replay throughput ------------------------------------------------------------------


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


def _replay(rules: Path, log: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS (MB) and the JSON report of ``ruleengine test --file --json``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        _ruleengine("test", "-c", str(rules), "--file", str(log), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stdout = proc.stdout.read()  # stderr stays small (a few log lines): no deadlock
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    code, peak = wait_peak_rss(proc)  # not communicate(): wait4 needs the unreaped child
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"ruleengine test --file failed ({code}):\n{stderr[-2000:]!r}")
    report: dict[str, Any] = json.loads(stdout)["sources"]["log"]
    return elapsed, peak, report


def _startup(rules: Path) -> float:
    """Wall seconds of a one-line dry run: what every ``ruleengine`` command pays up front."""
    start = time.perf_counter()
    subprocess.run(
        _ruleengine("test", "-c", str(rules), "--line", "x"), capture_output=True, check=True
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
        elapsed, _peak, report = _replay(rules, log)
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


# -- 2. latency and 3. burst -----------------------------------------------------------------

LATENCY_RULES = """\
state_dir: {state}
defaults: {{to: [hook]}}
destinations:
  hook: {{type: webhook, url: "{url}/hook"}}
sources:
  log: {{type: logfile, paths: ["{logs}/*.log"]}}
  drops: {{type: markers, directory: "{drops}", after: delete}}
rules:
  - name: line
    source: log
    match: 'probe seq=(?P<seq>\\d+)'
    message: "line {{{{ seq }}}}"
  - name: marker
    source: drops
    file: 'probe-(?P<seq>\\d+)\\.json'
    message: "marker {{{{ seq }}}}"
"""


def _daemon_tree(work: Path, name: str, receiver: Receiver) -> tuple[Path, Path, Path]:
    root = work / name
    logs, drops = root / "logs", root / "drops"
    logs.mkdir(parents=True)
    drops.mkdir()
    (logs / "app.log").touch()
    rules = root / "rules.yaml"
    rules.write_text(
        LATENCY_RULES.format(state=root / "state", url=receiver.url, logs=logs, drops=drops)
    )
    return rules, logs / "app.log", drops


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _arrivals(receiver: Receiver, rule: str) -> dict[int, float]:
    out = {}
    for request in list(receiver.requests):
        body = request.json()
        if body.get("rule") == rule:
            out[int(body["fields"]["seq"])] = request.time
    return out


def latency(work: Path, events: int, rate: float) -> list[Figure]:
    figures: list[Figure] = []
    with Receiver() as receiver:
        rules, log, drops = _daemon_tree(work, "latency", receiver)
        staging = work / "latency" / "staging"
        staging.mkdir()
        with DaemonProcess(rules):
            sent: dict[str, dict[int, float]] = {"line": {}, "marker": {}}
            with log.open("a", encoding="utf-8") as handle:
                for seq in range(events):
                    handle.write(f"Nov 27 10:00:00 host app[1]: probe seq={seq}\n")
                    handle.flush()
                    sent["line"][seq] = time.time()
                    time.sleep(1.0 / rate)
            for seq in range(events):
                temp = staging / f"probe-{seq}.json"
                temp.write_text('{"k": 1}')
                os.rename(temp, drops / temp.name)
                sent["marker"][seq] = time.time()
                time.sleep(1.0 / rate)
            receiver.wait_for(2 * events, timeout=120)
        targets = {"line": (5.0, 25.0), "marker": (10.0, 50.0)}
        for rule, (p50_target, p99_target) in targets.items():
            got = _arrivals(receiver, rule)
            lat = [(got[s] - sent[rule][s]) * 1000 for s in sent[rule] if s in got]
            p50, p99 = _percentile(lat, 50), _percentile(lat, 99)
            figures += [
                Figure(
                    f"latency {rule}",
                    "p50",
                    p50,
                    "ms",
                    f"<= {p50_target:g}",
                    p50 <= p50_target,
                    f"{len(lat)}/{events} delivered",
                ),
                Figure(
                    f"latency {rule}",
                    "p99",
                    p99,
                    "ms",
                    f"<= {p99_target:g}",
                    p99 <= p99_target,
                    f"mean {statistics.fmean(lat):.1f} ms",
                ),
            ]
    return figures


def burst(work: Path, markers: int) -> list[Figure]:
    with Receiver() as receiver:
        rules, _log, drops = _daemon_tree(work, "burst", receiver)
        staging = work / "burst" / "staging"
        staging.mkdir()
        for seq in range(markers):
            (staging / f"probe-{seq}.json").write_text(json.dumps({"seq": seq, "pad": "x" * 64}))
        with DaemonProcess(rules) as daemon:
            assert daemon.proc is not None
            start = time.time()
            for seq in range(markers):
                os.rename(staging / f"probe-{seq}.json", drops / f"probe-{seq}.json")
            receiver.wait_for(markers, timeout=600)
            elapsed = max(r.time for r in receiver.requests) - start
            peak = rss_mb(daemon.proc.pid, "VmHWM")
            daemon.stop()
        delivered = len(_arrivals(receiver, "marker"))
        left = [p for p in drops.iterdir() if p.is_file()]
    rate = markers / elapsed
    return [
        Figure(
            "burst markers",
            "end-to-end rate",
            rate,
            "markers/s",
            ">= 500",
            rate >= 500,
            f"{delivered}/{markers} delivered, {len(left)} left behind",
        ),
        Figure("burst markers", "peak RSS", peak, "MB", "<= 150", peak <= 150),
    ]


# -- 4. idle and 5. backlog memory -----------------------------------------------------------


def idle(work: Path, seconds: float) -> list[Figure]:
    root = work / "idle"
    logs = [root / f"logs{i}" / "app.log" for i in range(5)]
    for path in logs:
        path.parent.mkdir(parents=True)
        path.write_text("start\n")
    drops = [root / f"drops{i}" for i in range(2)]
    for path in drops:
        path.mkdir()
    sources = "\n".join(
        [f"  log{i}: {{type: logfile, paths: ['{p}']}}" for i, p in enumerate(logs)]
        + [f"  drops{i}: {{type: markers, directory: '{p}'}}" for i, p in enumerate(drops)]
    )
    rules = root / "rules.yaml"
    rules.write_text(
        f"state_dir: {root / 'state'}\ndefaults: {{to: [sink]}}\n"
        "destinations:\n  sink: {type: console}\n"
        f"sources:\n{sources}\n"
        "rules:\n  - {name: r, source: log0, match: never-matches-anything, message: x}\n"
    )
    with DaemonProcess(rules) as daemon:
        assert daemon.proc is not None
        time.sleep(2.0)  # let start-up work finish before measuring
        cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = cpu_seconds(daemon.proc.pid), time.monotonic()
        rss = rss_mb(daemon.proc.pid)
        daemon.stop()
    share = (cpu1 - cpu0) / (t1 - t0) * 100
    return [
        Figure(
            "idle (5 logs, 2 dirs)",
            "CPU",
            share,
            "% of a core",
            "<= 0.5",
            share <= 0.5,
            f"over {seconds:.0f} s",
        ),
        Figure("idle (5 logs, 2 dirs)", "RSS", rss, "MB", "<= 60", rss <= 60),
    ]


def backlog(work: Path, gigabytes: float) -> list[Figure]:
    log = work / "backlog.log"
    write_log(log, 0, seed=11, min_bytes=int(gigabytes * 1024**3))
    size_gb = log.stat().st_size / 1024**3
    rules = work / "backlog.yaml"
    rules.write_text(rules_yaml(patterns(20), str(log), str(work / "backlog-state")))
    elapsed, peak, report = _replay(rules, log)
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


# -- driver --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["throughput", "latency", "burst", "idle", "backlog"],
    )
    args = parser.parse_args(argv)
    quick = args.quick
    plan: dict[str, Callable[[Path], list[Figure]]] = {
        "throughput": lambda w: throughput(
            w, 200_000 if quick else 1_000_000, 50_000 if quick else 200_000
        ),
        "latency": lambda w: latency(w, 200 if quick else 1000, 100.0),
        "burst": lambda w: burst(w, 2000 if quick else 10_000),
        "idle": lambda w: idle(w, 10.0 if quick else 60.0),
        "backlog": lambda w: backlog(w, 0.1 if quick else 1.0),
    }
    figures: list[Figure] = []
    for name, run in plan.items():
        if args.only and name not in args.only:
            continue
        work = Path(tempfile.mkdtemp(prefix=f"ruleengine-bench-{name}-"))
        try:
            figures += run(work)
        except Exception as exc:
            figures.append(Figure(name, "error", float("nan"), "", "", False, str(exc)[:200]))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _print(figures)
    OUT.mkdir(exist_ok=True)
    result = {
        "quick": quick,
        "time": time.time(),
        "cpus": os.cpu_count(),
        "figures": [asdict(f) for f in figures],
    }
    (OUT / "results.json").write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {OUT / 'results.json'}")
    return 0


def _print(figures: list[Figure]) -> None:
    print(
        f"\n{'workload':<26} {'metric':<22} {'value':>14} {'unit':<12} {'target':<14} "
        f"{'ok':<4} reference"
    )
    for f in figures:
        mark = "yes" if f.ok else ("no" if f.ok is not None else "")
        print(
            f"{f.workload:<26} {f.metric:<22} {f.value:>14,.2f} {f.unit:<12} {f.target:<14} "
            f"{mark:<4} {f.reference}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
