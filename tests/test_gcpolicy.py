"""The CLI's collector policy: off while a command is imported, what start-up made frozen, and
a reload's leftovers collected (frozen objects never are: that is why a reload re-settles)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from ruleengine import gcpolicy


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """This test process must not keep what the tests froze."""
    yield
    gc.unfreeze()
    gc.enable()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_starting_turns_collections_off_then_settles() -> None:
    frozen = gc.get_freeze_count()
    with gcpolicy.starting():
        assert not gc.isenabled()
        made = [Node() for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)


def test_a_settled_cycle_outlives_collections_until_resettled() -> None:
    gc.collect()
    ref = cycle()
    gcpolicy.settle()
    gc.collect()
    assert ref() is not None  # frozen: the old rules of a reload would stay for ever
    gcpolicy.resettle()
    assert ref() is None


def test_the_cli_imports_a_command_with_the_collector_off() -> None:
    probe = (
        "import gc, sys\n"
        "from ruleengine import cli\n"
        "seen = []\n"
        "real = cli.build_parser\n"
        "cli.build_parser = lambda argv: (seen.append(gc.isenabled()), real(argv))[1]\n"
        "try:\n"
        "    cli.main(['schema'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(seen, gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[False] True True"
