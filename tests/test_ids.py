"""Ids are stored (outbox rows, events, idempotency keys) and compared across restarts and
versions: the same parts must give the same id forever, or a re-read line after an upgrade
would be sent again."""

from __future__ import annotations

from ruleengine.model import stable_id


def test_ids_are_pinned() -> None:
    # Values computed by the first implementation (one blake2b update per part, then 0x1f).
    assert stable_id("log", "/var/log/syslog", 1234) == "16bcd30eceb5b765e57f8e6fe5771470"
    # A file name that is not UTF-8 (lone surrogate), None, a float, non-ASCII text.
    assert stable_id("mark\udcfe", None, 0.5, "ü") == "dc04040ec034b96b8700a7a24b3d4d1e"


def test_part_boundaries_count() -> None:
    assert stable_id("ab", "c") != stable_id("a", "bc")
