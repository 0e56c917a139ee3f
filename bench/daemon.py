"""Daemon figures: log/marker → webhook latency, a burst of markers, idle cost."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from bench.figures import Figure
from bench.measure import cpu_seconds, rss_mb
from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

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
