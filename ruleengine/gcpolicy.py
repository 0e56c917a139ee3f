"""The cyclic garbage collector in a long-running command.

What start-up makes (modules, the validated rules, compiled templates and regexes) lives as long
as the process, yet every full collection walked it all again: ~16 ms of collections while a
command imports, ~25 ms more during a 1M-line catch-up (of ~0.8 s). So the CLI keeps the
collector off while a command is imported and built, and ``settle`` moves everything that
exists into the permanent generation (``gc.freeze``), which collections skip. Only the CLI
does this: a program embedding ruleengine (``api.running``) keeps its own collector policy.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def starting() -> Iterator[None]:
    """No collections while a command is imported and set up: it allocates much, frees
    little. Afterwards what exists is settled and the collector is on again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if enabled:
            gc.enable()


def settle() -> None:
    """What exists now lives as long as the process: collections stop walking it."""
    gc.freeze()


def resettle() -> None:
    """After a reload: what the old rules left in reference cycles is collected (frozen
    objects never are), then what exists settles again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
