"""Run the benchmarks of issue 8 and print a table; figures also go to bench/out/results.json.

    ./dev bench            # full run (1M-line replay, 1M-line daemon catch-up vs swatchdog,
                           #  1,000-event latency, 10,000-marker burst, 60 s idle, 1 GB backlog)
    ./dev bench --quick    # the same workloads, smaller (a minute or two)

Each figure is quoted beside a reference measured in the same run where one exists (grep, a
naive Python loop, swatchdog). Data is generated deterministically (bench/gen.py); nothing
is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.catchup import catchup
from bench.daemon import burst, idle, latency
from bench.figures import Figure, compile_bytecode, print_table
from bench.intake import intake
from bench.journal import journal_replay
from bench.replay import backlog, throughput

OUT = Path(__file__).resolve().parent / "out"


# -- driver --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=[
            "throughput",
            "catchup",
            "journal",
            "latency",
            "burst",
            "idle",
            "backlog",
            "intake",
        ],
    )
    args = parser.parse_args(argv)
    quick = args.quick
    plan: dict[str, Callable[[Path], list[Figure]]] = {
        "throughput": lambda w: throughput(
            w, 200_000 if quick else 1_000_000, 50_000 if quick else 200_000
        ),
        "catchup": lambda w: catchup(w, 200_000 if quick else 1_000_000),
        "journal": lambda w: journal_replay(w, 50_000 if quick else 200_000),
        "latency": lambda w: latency(w, 200 if quick else 1000, 100.0),
        "burst": lambda w: burst(w, 2000 if quick else 10_000),
        "idle": lambda w: idle(w, 10.0 if quick else 60.0),
        "backlog": lambda w: backlog(w, 0.1 if quick else 1.0),
        "intake": lambda w: intake(w, 1000 if quick else 5000),
    }
    compile_bytecode()
    figures: list[Figure] = []
    for name, run in plan.items():
        if args.only and name not in args.only:
            continue
        work = Path(tempfile.mkdtemp(prefix=f"ruleengine-bench-{name}-"))
        # Each workload starts with an empty compile cache of its own (never ~/.cache): its
        # first run compiles, the repeats load (catch-up reports both).
        os.environ["RULEENGINE_CACHE_DIR"] = str(work / "compile-cache")
        # What the previous workload wrote reaches the disk before this one starts: the
        # daemon fsyncs its commits, and an fsync waits behind any writeback in progress.
        os.sync()
        try:
            figures += run(work)
        except Exception as exc:
            figures.append(Figure(name, "error", float("nan"), "", "", False, str(exc)[:200]))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print_table(figures)
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


if __name__ == "__main__":
    raise SystemExit(main())
