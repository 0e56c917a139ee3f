"""The compile cache: Hyperscan databases compiled once are loaded back, and anything doubtful
(damaged, foreign, shared, a symlink) is compiled afresh instead; the answers never change."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ruleengine import compilecache
from ruleengine.rules import hs

pytestmark = pytest.mark.skipif(not hs.available(), reason="Hyperscan has no wheel here")

PATTERNS = [re.compile(p) for p in (r"sshd\[\d+\]: Failed password for (\S+)", r"ERROR (\w+)")]
TEXT = "x sshd[12]: Failed password for root\nok\nERROR disk\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("RULEENGINE_CACHE_DIR", str(folder))
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("hs-*.db"))


def scan() -> list[tuple[int, int]]:
    scanner, covered = hs.regex_database(PATTERNS)
    assert scanner is not None and covered == {0, 1}
    return scanner.ends(TEXT.encode())


def test_a_database_compiled_once_is_loaded_back(cache: Path) -> None:
    first = scan()
    (entry,) = entries(cache)
    written, inode = entry.stat().st_mtime_ns, entry.stat().st_ino
    os.utime(entry, ns=(written - 10**9, written - 10**9))
    assert scan() == first == [(33, 0), (47, 1)]
    assert entries(cache) == [entry]
    assert entry.stat().st_ino == inode  # read, not compiled and written again
    assert entry.stat().st_mtime_ns > written - 10**9  # used: kept by the pruning
    assert oct(cache.stat().st_mode & 0o777) == "0o700"


def test_a_damaged_entry_is_compiled_afresh_and_replaced(cache: Path) -> None:
    first = scan()
    (entry,) = entries(cache)
    data = bytearray(entry.read_bytes())
    data[-5] ^= 0xFF  # Hyperscan alone would load this one
    entry.write_bytes(bytes(data))
    assert compilecache.load(entry.name[3:-3]) is None
    assert scan() == first
    assert compilecache.load(entry.name[3:-3]) is not None  # rewritten whole


@pytest.mark.parametrize("damage", ["truncated", "foreign", "empty"])
def test_torn_or_foreign_entries_are_ignored(cache: Path, damage: str) -> None:
    first = scan()
    (entry,) = entries(cache)
    data = entry.read_bytes()
    entry.write_bytes(
        {"truncated": data[: len(data) // 2], "foreign": b"GIF89a" + data, "empty": b""}[damage]
    )
    assert scan() == first


def test_a_symlinked_entry_is_not_followed(cache: Path, tmp_path: Path) -> None:
    scan()
    (entry,) = entries(cache)
    elsewhere = tmp_path / "elsewhere.db"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert compilecache.load(entry.name[3:-3]) is None


def test_a_cache_others_may_write_is_not_used(cache: Path) -> None:
    scan()
    (entry,) = entries(cache)
    name = entry.name[3:-3]
    entry.chmod(0o620)
    assert compilecache.load(name) is None
    entry.chmod(0o600)
    cache.chmod(0o770)
    assert compilecache.load(name) is None
    cache.chmod(0o700)
    assert compilecache.load(name) is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_an_entry_another_user_owns_is_not_used(cache: Path) -> None:
    scan()
    (entry,) = entries(cache)
    os.chown(entry, 65534, 65534)
    assert compilecache.load(entry.name[3:-3]) is None
    assert scan() == [(33, 0), (47, 1)]


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULEENGINE_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert compilecache.directory() is None
    assert scan() == [(33, 0), (47, 1)]
    assert not list(tmp_path.rglob("hs-*.db"))


def test_where_the_cache_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RULEENGINE_CACHE_DIR")
    monkeypatch.setenv("CACHE_DIRECTORY", "/var/cache/ruleengine:/var/cache/other")
    assert compilecache.directory() == Path("/var/cache/ruleengine")  # systemd's CacheDirectory=
    monkeypatch.delenv("CACHE_DIRECTORY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compilecache.directory() == tmp_path / "xdg" / "ruleengine"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path))
    assert compilecache.directory() == tmp_path / ".cache" / "ruleengine"


def test_only_the_most_recently_used_entries_are_kept(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compilecache, "KEEP", 3)
    for number in range(5):
        compilecache.store(f"{number:064x}", b"blob %d" % number)
        entry = cache / f"hs-{number:064x}.db"
        os.utime(entry, (1_000_000 + number, 1_000_000 + number))
    assert [e.name[3:7] for e in entries(cache)] == ["0000"] * 3
    assert compilecache.load(f"{4:064x}") == b"blob 4"
    assert compilecache.load(f"{0:064x}") is None  # the oldest went
    assert not list(cache.glob(".tmp-*"))
