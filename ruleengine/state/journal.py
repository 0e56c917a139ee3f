"""Deliveries not yet folded into the outbox: a small append-only file per delivery worker.

A worker catching up sends many rows back to back. Marking each one delivered in its own SQLite
transaction cost more than the send itself (a write lock shared with the engine, a commit), and
marking them in batches alone would let a kill resend a whole batch. So right after each send
the worker appends the ``seq`` of the rows it carried here (one ``write(2)``, no fsync: it
survives a process kill like a ``durable=False`` commit does), and folds what it wrote into
the outbox in one transaction every few hundred rows, before it waits, and when it stops.
Then the file is emptied. A kill loses at most the send in flight, as before.

The daemon folds what a killed run left behind (``Outbox.recover_deliveries``) before its
workers start. Lines are JSON ``[seq, warning, ref]``; a torn or foreign line is ignored (the row
is then merely sent again).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path

PREFIX = "delivered."
SUFFIX = ".journal"
_serial = itertools.count(1)


class DeliveryJournal:
    """One worker's journal in the state directory; closed (and removed) by ``close``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / f"{PREFIX}{os.getpid()}.{next(_serial)}{SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        self._written = False

    def record(self, entries: Iterable[tuple[int, str | None, str | None]]) -> None:
        """Note delivered rows, (seq, warning, the service's id of the message) each, in one
        write; on return they survive a kill of this process."""
        lines = []
        for seq, warning, ref in entries:
            if warning is None and ref is None:  # the common case, without the JSON encoder
                lines.append(f"[{seq}, null, null]\n")
            else:
                lines.append(json.dumps([seq, warning, ref]) + "\n")
        if lines:
            os.write(self._fd, "".join(lines).encode())
            self._written = True

    def clear(self) -> None:
        """Everything recorded is folded into the outbox."""
        if self._written:
            os.ftruncate(self._fd, 0)
            self._written = False

    def close(self, folded: bool) -> None:
        """``folded``: everything recorded is in the outbox, nothing is left to recover, so
        the file goes; otherwise it stays for the next start."""
        os.close(self._fd)
        if folded:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


Entry = tuple[str | None, str | None]  # a delivered row's warning and message id


def leftovers(state_dir: Path) -> tuple[list[Path], dict[int, Entry]]:
    """The journals a killed run left, and the deliveries (seq → entry) they recorded."""
    paths = sorted(state_dir.glob(f"{PREFIX}*{SUFFIX}"))
    found: dict[int, Entry] = {}
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            with contextlib.suppress(ValueError, TypeError):
                seq, warning, ref = json.loads(line)
                texts = all(v is None or isinstance(v, str) for v in (warning, ref))
                if isinstance(seq, int) and texts:
                    found[seq] = (warning, ref)
    return paths, found
