"""Hostile log content: invalid UTF-8, NUL bytes, a 10 MB line, CRLF, UTF-16 with a BOM, empty
and tiny files. Each is read without stopping the reader and with bounded memory.

CRLF fixtures are real logs from loghub (https://github.com/logpai/loghub, Zhu et al.,
"Loghub: A Large Collection of System Log Datasets for AI-driven Log Analytics", ISSRE 2023).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruleengine.sources.logfile.tailer import TRUNCATED
from tests.support.logfile_harness import Harness

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"


@pytest.fixture
def read(tmp_path: Path) -> Iterator[object]:
    """read(content, **settings) → texts of every line of a file holding ``content``."""
    harnesses: list[Harness] = []

    def reader(content: bytes, count: int, **settings: object) -> Harness:
        log = tmp_path / "input.log"
        log.write_bytes(content)
        harness = Harness(tmp_path / "state", paths=[str(log)], start_at="beginning", **settings)
        harnesses.append(harness)
        harness.start()
        assert harness.wait_for(lambda texts: len(texts) >= count)
        return harness

    yield reader
    for harness in harnesses:
        harness.close()


def test_invalid_utf8_is_replaced_not_fatal(read) -> None:
    harness = read(b"ok \xff\xfe bad \xc3\n\xe9t\xe9\nnext\n", 3)
    assert harness.texts() == ["ok \ufffd\ufffd bad \ufffd", "\ufffdt\ufffd", "next"]


def test_nul_bytes_do_not_stop_the_reader(read) -> None:
    harness = read(b"a\x00b\n\x00\x00\x00\x00\nafter the hole\n", 3)
    assert harness.texts() == ["ab", "", "after the hole"]


def test_configured_encoding(read) -> None:
    harness = read("café ünïcode\n".encode("latin-1"), 1, encoding="latin-1")
    assert harness.texts() == ["café ünïcode"]


def test_utf8_bom_is_not_part_of_the_first_line(read) -> None:
    harness = read(b"\xef\xbb\xbffirst\nsecond\n", 2)
    assert harness.texts() == ["first", "second"]


# U+0A41 U+0100 is b"\x41\x0a\x00\x01" in UTF-16-LE and U+4100 U+0A41 is b"\x41\x00\x0a\x41"
# in UTF-16-BE: each holds the other byte order's newline at an odd offset, which a reader
# splitting on raw b"\n" bytes would cut in two.
TRICKY = "odd units \u0a41\u0100 and \u4100\u0a41 here"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_splits_on_code_units(read, codec: str) -> None:
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    text = f"{TRICKY}\r\nsecond line\n\u00e9t\u00e9 \U0001f600\n"
    harness = read(bom + text.encode(codec), 3)  # the configured utf-8 loses to the BOM
    assert harness.texts() == [TRICKY, "second line", "\u00e9t\u00e9 \U0001f600"]


def test_utf16_without_bom_when_configured(read) -> None:
    harness = read("one\ntwo\n".encode("utf-16-be"), 2, encoding="utf-16-be")
    assert harness.texts() == ["one", "two"]


def test_ten_megabyte_line_is_truncated_with_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    with open(log, "wb") as handle:
        for _ in range(10):
            handle.write(b"x" * (1024 * 1024))
        handle.write(b"\nthe next line\n")
    harness = Harness(tmp_path / "state", paths=[str(log)], start_at="beginning")
    tracemalloc.start()
    try:
        harness.start()
        assert harness.wait_for(lambda texts: len(texts) >= 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        harness.close()
    first, second = harness.texts()
    assert first == "x" * 65536 + TRUNCATED
    assert second == "the next line"
    # One 1 MiB chunk and its split copy, never the whole line.
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while reading a 10 MB line"


def test_over_long_line_stays_skipped_across_a_restart(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    harness = Harness(tmp_path / "state", paths=[str(log)], max_line=1024)
    try:
        harness.start()
        with open(log, "ab") as handle:
            handle.write(b"y" * 5000)  # no newline yet: its head is emitted, the rest skipped
        assert harness.wait_for(lambda texts: len(texts) == 1)
        harness.stop()
        with open(log, "ab") as handle:
            handle.write(b"y" * 5000 + b"\nshort\n")
        harness.start()
        assert harness.wait_for(lambda texts: len(texts) >= 2)
        assert harness.texts() == ["y" * 1024 + TRUNCATED, "short"]
    finally:
        harness.close()


def test_empty_file_then_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    harness = Harness(tmp_path / "state", paths=[str(log)])
    try:
        harness.start()
        with open(log, "ab") as handle:
            handle.write(b"first\n")
        assert harness.wait_for(lambda texts: texts == ["first"])
    finally:
        harness.close()


def test_tiny_files(read, tmp_path: Path) -> None:
    harness = read(b"x\n", 1)
    assert harness.texts() == ["x"]
    with open(tmp_path / "input.log", "ab") as handle:
        handle.write(b"y")  # one byte, no newline: held
    with open(tmp_path / "input.log", "ab") as handle:
        handle.write(b"\n")
    assert harness.wait_for(lambda texts: len(texts) >= 2)
    assert harness.texts() == ["x", "y"]


@pytest.mark.parametrize("name", ["OpenSSH_2k.log", "Linux_2k.log"])
def test_loghub_crlf_logs(read, tmp_path: Path, name: str) -> None:
    fixture = LOGHUB / name
    if not fixture.exists():
        pytest.skip("loghub data not present")
    raw = fixture.read_bytes()
    assert b"\r\n" in raw
    expected = raw.decode("utf-8", "replace").splitlines()
    complete = expected if raw.endswith(b"\n") else expected[:-1]
    harness = read(raw, len(complete))
    assert harness.texts() == complete
    assert not any("\r" in text for text in harness.texts())
    if complete != expected:  # loghub's last line has no newline: held until it gets one
        with open(tmp_path / "input.log", "ab") as handle:
            handle.write(b"\r\n")
        assert harness.wait_for(lambda texts: len(texts) == len(expected))
        assert harness.texts() == expected


def test_loghub_windows_log_as_utf16_crlf_across_chunks(tmp_path: Path) -> None:
    """Windows CBS lines (loghub Windows_2k.log) written as Windows tools do: UTF-16-LE with
    a BOM and CRLF; 1.7 MB, so a line straddles the 1 MiB chunk boundary."""
    fixture = LOGHUB / "Windows_2k.log"
    if not fixture.exists():
        pytest.skip("loghub data not present")
    lines = fixture.read_text(encoding="utf-8", errors="replace").splitlines() * 3
    log = tmp_path / "CBS.log"
    log.write_bytes(b"\xff\xfe" + "".join(f"{line}\r\n" for line in lines).encode("utf-16-le"))
    assert log.stat().st_size > 1024 * 1024  # more than one chunk
    harness = Harness(tmp_path / "state", paths=[str(log)], start_at="beginning")
    try:
        harness.start()
        assert harness.wait_for(lambda texts: len(texts) >= len(lines))
        assert harness.texts() == lines
    finally:
        harness.close()
