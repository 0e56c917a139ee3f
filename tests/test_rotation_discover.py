"""Finding rotated generations on disk (``discover``) and reading compressed ones
(``compressed``), on real files: olddir and glob places, compressed heads, inode reuse."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ruleengine.sources.logfile import compressed
from ruleengine.sources.logfile.discover import Places, find_rotated, unseen_rotations
from ruleengine.sources.logfile.rotation import FileState

TEXT = b"".join(b"line %d of the first generation\n" % n for n in range(2000))
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


def state_of(path: Path, offset: int = 0) -> FileState:
    with open(path, "rb") as handle:
        head = handle.read(256)
    return FileState.new(os.stat(path), head, offset)


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_generation_is_read_on_from_the_stored_offset(
    tmp_path: Path, suffix: str
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(TEXT)
    state = state_of(log, offset=TEXT.index(b"line 1500 "))
    packed = tmp_path / f"app.log.1{suffix}"
    packed.write_bytes(COMPRESSORS[suffix](TEXT))
    log.unlink()
    found = find_rotated(Places(str(log)), state)
    assert found is not None and found.path == str(packed) and found.packed
    stream = compressed.open_stream(found.path, found.packed)
    assert stream is not None
    try:
        assert state.head_matches(stream.read(256))
        stream.seek(state.offset)
        assert stream.read() == TEXT[state.offset :]
    finally:
        stream.close()


def test_unsupported_or_damaged_compression_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(TEXT)
    state = state_of(log)
    (tmp_path / "app.log.1.gz").write_bytes(b"\x1f\x8b not really gzip")
    (tmp_path / "app.log.2.zst").write_bytes(b"(\xb5/\xfd zstd")
    log.unlink()
    assert find_rotated(Places(str(log)), state) is None
    assert unseen_rotations(Places(str(log)), [], since=0) == []
    assert compressed.open_stream(str(tmp_path / "app.log.2.zst"), packed=True) is None


def test_olddir_and_glob_places(tmp_path: Path) -> None:
    """A directory counts rotated names only; a glob of a one-log source counts every match."""
    log = tmp_path / "app.log"
    old = tmp_path / "old"
    old.mkdir()
    (old / "app.log.1").write_text("rotated\n")
    (old / "other.log.1").write_text("another log\n")
    (old / "archive-7").write_text("named by the user\n")
    by_dir = {Path(c.path).name for c in Places(str(log), (str(old),)).candidates()}
    assert by_dir == {"app.log.1"}
    trusted = Places(str(log), (str(old / "a*"),), trust_globs=True)
    assert {Path(c.path).name for c in trusted.candidates()} == {"app.log.1", "archive-7"}
    untrusted = Places(str(log), (str(old / "a*"),), trust_globs=False)
    assert {Path(c.path).name for c in untrusted.candidates()} == {"app.log.1"}


def test_links_and_directories_are_not_candidates(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    secret = tmp_path / "secret"
    secret.write_text("not a log\n")
    (tmp_path / "app.log.1").symlink_to(secret)
    (tmp_path / "app.log.2").mkdir()
    assert Places(str(log)).candidates() == []


def test_a_reused_inode_with_another_head_is_an_unseen_generation(tmp_path: Path) -> None:
    """logrotate's create may hand a freed inode to the new file: the number alone says
    nothing, the head does. The state here names the inode with the old head."""
    log = tmp_path / "app.log"
    rotated = tmp_path / "app.log.1"
    rotated.write_text("new generation\n")
    info = os.stat(rotated)
    old = FileState.new(info, b"old generation\n", 15)
    found = unseen_rotations(Places(str(log)), [old], since=0)
    assert [c.path for c in found] == [str(rotated)]
    same = state_of(rotated, offset=15)
    assert unseen_rotations(Places(str(log)), [same], since=0) == []


def test_unseen_prefers_the_plain_file_while_it_is_being_compressed(tmp_path: Path) -> None:
    """Between logrotate's gzip and its unlink both copies exist; only one is read."""
    log = tmp_path / "app.log"
    (tmp_path / "app.log.1").write_bytes(TEXT)
    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress(TEXT[:5000]))  # still being written
    found = unseen_rotations(Places(str(log)), [], since=0)
    assert [Path(c.path).name for c in found] == ["app.log.1"]


def test_unseen_is_oldest_first_and_after_since(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    now = time.time()
    for name, age in [("app.log.3.gz", 300), ("app.log.2.gz", 20), ("app.log.1", 10)]:
        path = tmp_path / name
        data = b"generation %s\n" % name.encode()
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        os.utime(path, (now - age, now - age))
    found = unseen_rotations(Places(str(log)), [], since=now - 60)
    assert [Path(c.path).name for c in found] == ["app.log.2.gz", "app.log.1"]


def test_plain_name() -> None:
    assert compressed.plain_name("app.log.2.gz") == "app.log.2"
    assert compressed.plain_name("app.log-20261127.XZ") == "app.log-20261127"
    assert compressed.plain_name("app.log.1") == "app.log.1"


def test_read_to_end_is_known_only_when_recorded() -> None:
    state = FileState("t", 1, 2, 3, "f", offset=100)
    assert not state.read_to_end  # a state from before 'end' was recorded
    assert FileState.from_json({**state.to_json(), "end": 100}).read_to_end
    assert not FileState.from_json({**state.to_json(), "end": 140}).read_to_end
