"""The chunked hot path (issue 12): a log is read, decoded and matched a chunk at a time, and
an event exists only for a line a rule selects. Each test compares the fast path with the
plain line-by-line meaning it must keep."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ruleengine.config.schema import Defaults, Rule
from ruleengine.engine import Engine
from ruleengine.model import Batch, Lines, stable_id
from ruleengine.rules import hs, hsregex, reparse
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.logfile import tailer
from ruleengine.sources.logfile.framing import LineSplitter, framing_for
from ruleengine.sources.logfile.rotation import FileState, read_head
from ruleengine.sources.logfile.tailer import TRUNCATED, Tail, TailOptions
from ruleengine.state import Store

SOURCE = "app"
PIECES = [
    "plain ascii words",
    "ERROR disk full on /dev/sda",
    "caf\u00e9 ERROR r\u00e9seau",  # non-ASCII: offsets differ from character positions
    "crlf line\r",
    "nul\x00bytes",
    "",
    "x" * 300,  # over max_line below
    "ERROR " + "y" * 90,
]


def _tail(path: Path, max_line: int, encoding: str = "utf-8") -> Tail:
    handle = path.open("rb")
    state = FileState.new(os.fstat(handle.fileno()), read_head(handle), 0)
    return Tail(str(path), handle, state, TailOptions(SOURCE, encoding, max_line), label="log")


def _read_all(tail: Tail, paths: set[str] | None = None) -> list[tuple[str, int, str]]:
    """(text, offset, id) of every line the tail yields, through whichever path it takes
    (named in ``paths``)."""
    out = []
    while (chunk := tail.read_chunk()) is not None:
        if paths is not None:
            kind = "events" if not isinstance(chunk, Lines) else "lines"
            paths.add(kind + ("" if not isinstance(chunk, Lines) or chunk.offsets else "/bulk"))
        events = chunk.events() if isinstance(chunk, Lines) else chunk
        out += [(e.text, e.fields["offset"], e.id) for e in events]
    out += [(e.text, e.fields["offset"], e.id) for e in tail.finish()]
    tail.close()
    return out


def _line_by_line(data: bytes, max_line: int, token: str) -> list[tuple[str, int, str]]:
    """The meaning: split on newlines, cap each line, decode each one on its own."""
    framing = framing_for(data[:4], "utf-8")
    assert framing is not None
    splitter = LineSplitter(framing, max_line, framing.bom, False)
    raws = splitter.feed(data)
    last = splitter.take_pending()
    raws += [last] if last is not None else []
    out = []
    for start, _end, raw, cut in raws:
        text = framing.decode(raw) + (TRUNCATED if cut else "")
        out.append((text, start, stable_id(SOURCE, token, start)))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_chunked_reading_yields_the_lines_of_line_by_line_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Chunks cut anywhere (inside a line, a character, a CRLF); ASCII, non-ASCII, CRLF, NUL,
    invalid bytes and over-long lines: same texts, offsets and ids as one line at a time."""
    rng = random.Random(seed)
    parts = []
    for _ in range(400):
        piece = rng.choice(PIECES).encode("utf-8")
        if rng.random() < 0.05:
            piece += b"\xff\xfe"  # invalid UTF-8
        parts.append(piece + (b"\r\n" if rng.random() < 0.1 else b"\n"))
    if seed % 2:
        parts = [p for p in parts if p.isascii() and b"\r" not in p and b"\x00" not in p]
    data = b"".join(parts) + b"unfinished last line"
    log = tmp_path / "app.log"
    log.write_bytes(data)
    monkeypatch.setattr(tailer, "CHUNK", rng.choice([97, 1000, 4096]))
    max_line = 8192 if seed % 3 else 200
    tail = _tail(log, max_line)
    token = tail.state.token
    paths: set[str] = set()
    assert _read_all(tail, paths) == _line_by_line(data, max_line, token)
    # The block path was taken: with implicit offsets for ASCII lines none of which is cut.
    assert ("lines/bulk" if seed % 2 and max_line > 300 else "lines") in paths


def test_a_long_line_in_a_big_chunk_is_still_cut(tmp_path: Path) -> None:
    """The block path rules out over-long lines by probing; a real one goes the general way."""
    data = b"short\n" * 1000 + b"L" * 200_000 + b"\nafter\n"
    log = tmp_path / "app.log"
    log.write_bytes(data)
    tail = _tail(log, 65536)
    lines = _read_all(tail)
    assert lines == _line_by_line(data, 65536, tail.state.token)
    assert [text for text, _o, _i in lines if text.endswith(TRUNCATED)] == ["L" * 65536 + TRUNCATED]


RULES = [
    Rule(name="error", source=[SOURCE], match=r"ERROR (?P<what>\w+)", message="{{ what }}"),
    Rule(name="cafe", source=[SOURCE], match=r"caf\u00e9", message="c", to=["a", "b"]),
    Rule(name="any", source=[SOURCE], match=r"^$", message="empty line"),  # no literal
]


@pytest.mark.parametrize("ascii_only", [True, False], ids=["implicit-offsets", "offsets"])
def test_fire_lines_fires_as_fire_on_one_event_per_line(ascii_only: bool) -> None:
    rules = compile_rules(RULES, Defaults())
    texts = [p for p in PIECES if p.isascii() or not ascii_only] * 3
    text = "\n".join(texts)
    offsets = None
    if not ascii_only:
        starts, pos = [], 1000
        for line in texts:
            starts.append(pos)
            pos += len(line.encode("utf-8")) + 1
        offsets = starts
    lines = Lines(SOURCE, "log", "tok", text, len(texts), 1000, offsets, 1.0)
    bulk = rules.fire_lines(lines)
    one_by_one = rules.fire(lines.events())
    assert [(f.rule.name, f.event, dict(f.fields)) for f in bulk] == [
        (f.rule.name, f.event, dict(f.fields)) for f in one_by_one
    ]
    assert {f.rule.name for f in bulk} == {"error", "cafe", "any"} - (
        {"cafe"} if ascii_only else set()
    )


def test_unreadable_pattern_gets_no_prefilter_and_still_matches(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """re._parser is private: when it fails on a pattern, that rule is tried on every line."""
    real = reparse.sre_parse.parse

    def failing(pattern: str, flags: int = 0) -> object:
        if "ERROR" in pattern:
            raise AttributeError("a future Python changed the parser")
        return real(pattern, flags)

    monkeypatch.setattr(reparse.sre_parse, "parse", failing)
    caplog.set_level(logging.DEBUG, logger="ruleengine.rules.reparse")
    rules = compile_rules(RULES, Defaults())
    error = next(r for r in rules.rules if r.name == "error")
    assert error.requirements == ()
    assert error.regex is not None and hsregex.translate(error.regex) is None
    assert "the rule is tried on every line" in caplog.text
    assert "a future Python changed the parser" in caplog.text
    text = "noise\nERROR disk\nmore noise"
    fired = rules.fire_lines(Lines(SOURCE, "log", "tok", text, 3, 0))
    assert [(f.rule.name, dict(f.fields)) for f in fired] == [("error", {"what": "disk"})]


_SELECT = """
import json, sys
if sys.argv[1] == "blocked":
    sys.modules["hyperscan"] = None  # what a platform without a wheel sees: ImportError
from ruleengine.config.destinations import RetryPolicy
from ruleengine.config.schema import Defaults, Rule
from ruleengine.rules import hs
from ruleengine.rules.compiler import compile_rules
rules = compile_rules(
    [Rule(name=f"r{i}", source=["s"], match=p, message="m") for i, p in enumerate(sys.argv[2:])],
    Defaults(),
)
text = sys.stdin.read()
found = [(at, [r.name for r, _ in chosen]) for at, _t, chosen in rules.select_lines("s", text)]
print(json.dumps({"hyperscan": hs.available(), "found": found}))
"""


def test_without_hyperscan_the_re_scanner_selects_the_same_lines() -> None:
    """Hyperscan is a default dependency only where wheels exist; elsewhere, or when its import
    fails, the pure-re scanner must give the same selections."""
    patterns = [r"ERROR (?P<what>\w+)", r"(?i)disk full", r"caf\u00e9", r"code=[1-9]\d*"]
    rng = random.Random(3)
    lines = [
        rng.choice(["ERROR x", "Disk FULL now", "caf\u00e9", "code=0", "code=17", "noise"])
        for _ in range(2000)
    ]
    text = "\n".join(lines)
    results = {}
    for mode in ("blocked", "default"):
        done = subprocess.run(
            [sys.executable, "-c", _SELECT, mode, *patterns],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            encoding="utf-8",
        )
        results[mode] = json.loads(done.stdout)
    assert results["blocked"]["hyperscan"] is False
    assert results["default"]["hyperscan"] is hs.available()
    assert results["blocked"]["found"] == results["default"]["found"]
    expected = [i for i, line in enumerate(lines) if any(re.search(p, line) for p in patterns)]
    starts = [sum(len(line) + 1 for line in lines[:i]) for i in expected]
    assert [start for start, _names in results["blocked"]["found"]] == starts


def test_engine_counts_lines_matches_and_notifications(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The counters the bench reads, and the summary logged when the engine stops."""
    store = Store(tmp_path / "state")
    engine = Engine(compile_rules(RULES[:2], Defaults(to=["sink"])), store, lambda _d: None)
    text = "noise\nERROR one\ncaf\u00e9\nnoise"
    lines = Lines(SOURCE, "log", "tok", text, 4, 0, [0, 6, 16, 22])
    engine.process(Batch((), (), None, lines=lines))
    counters = engine.counters
    assert (counters.lines, counters.matched, counters.notifications) == (4, 2, 3)
    caplog.set_level(logging.INFO, logger="ruleengine.engine")
    engine.start()
    engine.stop()
    engine.join(10)
    assert "engine: 4 lines, 0 other events, 2 matched, 3 notifications in" in caplog.text
    store.close()


def test_replay_reads_the_lines_the_daemon_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``test --file`` goes through the daemon's tail: NULs dropped, the line cap applied, a
    BOM skipped, exactly as the daemon would see the file."""
    from ruleengine.cli import main  # noqa: PLC0415 - the CLI only for this test

    log = tmp_path / "app.log"
    log.write_bytes(
        b"\xef\xbb\xbfERROR first\n"  # BOM, then a matching line
        b"ERR\x00OR nul\n"  # the daemon drops the NUL: this line matches
        + b"z"
        * 70_000
        + b" ERROR beyond the line cap\n"  # cut at max_line: no match
        b"ERROR last"  # no newline: the file's last line still counts
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        "destinations: {sink: {type: console}}\n"
        "defaults: {to: [sink]}\n"
        f"sources: {{app: {{type: logfile, paths: ['{log}']}}}}\n"
        "rules:\n  - {name: error, source: app, match: 'ERROR (?P<what>\\w+)', message: m}\n"
    )
    assert main(["test", "-c", str(rules), "--file", str(log), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["sources"]["app"]
    assert (summary["lines"], summary["rules"]) == (4, {"error": 3})
