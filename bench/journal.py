"""Journal replay: entries/s through 20 rules (``test --journal``), beside ``journalctl -o json |
grep -cP`` on the same journal files, in the same run. Needs journalctl and Debian's
systemd-journal-remote (which turns the generated export stream into real journal files)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.figures import Figure
from bench.gen import patterns, rules_yaml, write_log
from tests.support.journalkit import REMOTE, export


def _journal(work: Path, entries: int) -> Path:
    log = work / "journal.log"
    write_log(log, entries)
    directory = work / "journal"
    directory.mkdir()
    lines = log.read_text(encoding="utf-8").splitlines()
    stream = export(
        {"MESSAGE": line, "SYSLOG_IDENTIFIER": "app", "_SYSTEMD_UNIT": "app.service"}
        for line in lines
    )
    assert REMOTE is not None
    subprocess.run(
        [REMOTE, f"--output={directory / 'bench.journal'}", "-"],
        input=stream,
        capture_output=True,
        check=True,
    )
    return directory


def journal_replay(work: Path, entries: int) -> list[Figure]:
    """Entries/s of ``test --journal`` and the ratio to journalctl | grep."""
    if REMOTE is None:
        raise RuntimeError("systemd-journal-remote is not installed")
    directory = _journal(work, entries)
    regexes = patterns(20)
    rules = work / "rules.yaml"
    text = rules_yaml(regexes, "unused", str(work / "state"))
    text = re.sub(
        r"  log: \{type: logfile[^\n]*", f"  log: {{type: journal, directory: '{directory}'}}", text
    )
    rules.write_text(text)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruleengine",
            "test",
            "-c",
            str(rules),
            "--journal",
            str(directory),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"test --journal failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)["sources"]["log"]
    matched = sum(report["rules"].values())
    joined = "|".join(re.sub(r"\(\?P<\w+>", "(?:", p) for p in regexes)
    start = time.perf_counter()
    dump = subprocess.Popen(
        ["journalctl", "--directory", str(directory), "-o", "json", "--no-pager"],
        stdout=subprocess.PIPE,
    )
    grep = subprocess.run(
        ["grep", "-cP", joined], stdin=dump.stdout, capture_output=True, text=True, check=False
    )
    if dump.stdout is not None:
        dump.stdout.close()
    dump.wait()
    grep_s = time.perf_counter() - start
    grep_matched = int(grep.stdout.strip() or 0)
    ours = float(report["entries_per_second"])
    theirs = report["entries"] / grep_s
    return [
        Figure(
            "journal replay 20 rules",
            "throughput",
            ours,
            "entries/s",
            "",
            None,
            f"{report['entries']:,} entries, {matched} matches; "
            f"{report['entries'] / wall:,.0f}/s with start-up",
        ),
        Figure(
            "journal replay 20 rules",
            "vs journalctl -o json|grep",
            ours / theirs,
            "x",
            "",
            None,
            f"journalctl | grep -cP {theirs:,.0f} entries/s ({grep_matched} matches)",
        ),
    ]
