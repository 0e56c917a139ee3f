"""Pure framing and grouping: bytes → lines with exact offsets, whatever the chunking."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from ruleengine.sources.logfile.framing import LineSplitter, framing_for
from ruleengine.sources.logfile.multiline import Grouper, Line

UTF8 = framing_for(b"x", "utf-8")
assert UTF8 is not None


def feed_all(splitter: LineSplitter, chunks: list[bytes]) -> list[tuple[int, int, bytes, bool]]:
    return [line for chunk in chunks for line in splitter.feed(chunk)]


@given(
    data=st.binary(max_size=300).map(lambda b: b.replace(b"q", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8),
    cap=st.integers(min_value=1, max_value=40),
)
def test_chunking_never_changes_the_lines(data: bytes, cuts: list[int], cap: int) -> None:
    whole = feed_all(LineSplitter(UTF8, cap, 0, False), [data])
    points = sorted({c for c in cuts if c <= len(data)} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    splitter = LineSplitter(UTF8, cap, 0, False)
    pieces = feed_all(splitter, chunks)
    # A head truncated early (a chunk ended inside an over-long line) ends where it was cut;
    # everything else is identical.
    assert [(s, raw, cut) for s, _e, raw, cut in pieces] == [
        (s, raw, cut) for s, _e, raw, cut in whole
    ]
    complete = [line for line in data.split(b"\n")[:-1]]
    assert len(pieces) >= len(complete)
    assert len(splitter.pending) <= cap  # bounded, whatever the input
    for start, end, raw, cut in pieces:
        assert len(raw) <= cap
        assert data[start : start + len(raw)] == raw
        assert cut or data[end - 1 : end] == b"\n"


def test_offsets_resume_exactly() -> None:
    splitter = LineSplitter(UTF8, 100, 0, False)
    assert splitter.feed(b"one\ntw") == [(0, 4, b"one", False)]
    assert splitter.pending_start == 4 and splitter.read_pos == 6
    assert splitter.feed(b"o\n") == [(4, 8, b"two", False)]
    resumed = LineSplitter(UTF8, 100, 8, False)
    assert resumed.feed(b"three\n") == [(8, 14, b"three", False)]


def test_over_long_line_is_cut_once_and_skipped() -> None:
    splitter = LineSplitter(UTF8, 4, 0, False)
    assert splitter.feed(b"abcdefgh") == [(0, 8, b"abcd", True)]
    assert splitter.skipping and splitter.pending == b""
    assert splitter.feed(b"ijk\nok\n") == [(12, 15, b"ok", False)]


def test_utf16_newline_only_on_code_unit_boundaries() -> None:
    framing = framing_for(b"\xff\xfe", "utf-8")
    assert framing is not None and framing.codec == "utf-16-le" and framing.bom == 2
    text = "\u0a41\u0100\nb\n"
    data = text.encode("utf-16-le")
    lines = LineSplitter(framing, 100, 2, False).feed(data[:3]) + LineSplitter(
        framing, 100, 2, False
    ).feed(data)
    assert [framing.decode(raw) for _s, _e, raw, _c in lines] == ["\u0a41\u0100", "b"]


def test_bom_prefix_waits_for_more_bytes() -> None:
    assert framing_for(b"", "utf-8") is None
    assert framing_for(b"\xff", "utf-8") is None
    assert framing_for(b"\xef\xbb", "utf-8") is None
    utf8 = framing_for(b"\xef\xbb\xbfx", "latin-1")
    assert utf8 is not None and (utf8.codec, utf8.bom) == ("utf-8", 3)
    latin = framing_for(b"ab", "latin-1")
    assert latin is not None and (latin.codec, latin.bom) == ("iso8859-1", 0)


def test_decode_drops_cr_and_nul_and_replaces_bad_bytes() -> None:
    assert UTF8.decode(b"a\x00b\xff\r") == "ab\ufffd"


def test_grouper_start_line_and_timeout() -> None:
    grouper = Grouper(re.compile(r"^\S"), timeout=1.0, max_bytes=1000)
    assert grouper.add(Line(0, 6, "first"), now=0.0) is None
    assert grouper.add(Line(6, 12, "  more"), now=0.5) is None
    assert grouper.open_start == 0
    done = grouper.add(Line(12, 19, "second"), now=0.6)
    assert done == Line(0, 12, "first\n  more")
    assert grouper.open_start == 12
    assert grouper.due(1.5) is None
    assert grouper.due(1.6) == Line(12, 19, "second")
    assert grouper.open_start is None


def test_grouper_bounds_a_runaway_group() -> None:
    grouper = Grouper(re.compile("^S"), timeout=1.0, max_bytes=10)
    grouper.add(Line(0, 6, "S1234"), now=0)
    for n in range(100):
        grouper.add(Line(6 + n * 6, 12 + n * 6, " cont"), now=0)
    group = grouper.flush()
    assert group is not None and group.truncated and len(group.text) <= 12
    assert group.end == 606


@given(
    raws=st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"\r")), max_size=10),
    codec=st.sampled_from(["utf-8", "latin-1", "shift_jis", "cp1252"]),
)
def test_decoding_a_chunk_at_once_equals_line_by_line(raws: list[bytes], codec: str) -> None:
    framing = framing_for(b"x", codec)
    assert framing is not None
    assert framing.decode_many(raws) == [framing.decode(raw) for raw in raws]
