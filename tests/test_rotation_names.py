"""Which names count as rotations of a log (where its unread lines are looked for)."""

from __future__ import annotations

import pytest

from ruleengine.sources.logfile.rotation import rotated_name


@pytest.mark.parametrize(
    "name",
    [
        "app.log.1",
        "app.log.2",
        "app.log-20261127",
        "app.log_old",
        "app-20261127.log",
        "app-2026-11-27.log",
        "app.1.log",
    ],
)
def test_rotated_names(name: str) -> None:
    assert rotated_name(name, "app.log")


@pytest.mark.parametrize(
    "name",
    [
        "app.log",
        "application.log",
        "apple.log.1",
        "app-20261127.txt",
        "other.log.1",
        "app.debug.log",
        "app-.log",
    ],
)
def test_not_rotated_names(name: str) -> None:
    assert not rotated_name(name, "app.log")


def test_name_without_extension() -> None:
    assert rotated_name("messages.1", "messages")
    assert rotated_name("messages-20261127", "messages")
    assert not rotated_name("messagesX", "messages")
