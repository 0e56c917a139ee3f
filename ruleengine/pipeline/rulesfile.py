"""The rules file's watch: notices when the file is written, renamed or replaced, and says when
the change has settled (its directory quiet for a while) with content the daemon is not running.

The watch only takes timestamps, on watchdog's thread; the supervisor's caller asks ``due`` when
to look and ``settled`` whether to reload, on its own loop.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent

from ruleengine.pipeline.build import file_hash
from ruleengine.sources.watch.dirwatch import DirectoryWatch

log = logging.getLogger(__name__)
RELOAD_DEBOUNCE = 1.0  # seconds of quiet after the last change in the rules file's directory


class RulesFileWatch:
    """Watches ``path``'s directory; ``on_wake`` is called when the file changes."""

    def __init__(self, path: Path, on_wake: Callable[[], None]) -> None:
        self.path = path
        self.on_wake = on_wake
        self._watch = DirectoryWatch(self._on_event, "rules")
        self._changed_at: float | None = None  # monotonic time of the last event near the file

    def start(self) -> None:
        if not self._watch.add(self.path.parent):
            log.warning("cannot watch %s; reload with SIGHUP", self.path.parent)
        self._watch.start()

    def stop(self) -> None:
        self._watch.stop()

    def due(self) -> float | None:
        """Monotonic time at which a noticed change will have settled; None: none noticed."""
        changed = self._changed_at
        return None if changed is None else changed + RELOAD_DEBOUNCE

    def settled(self, *skip: str | None) -> bool:
        """True once the directory has been quiet for a while and the file's content changed
        to none of the hashes in ``skip`` (the running file's, the last rejected one's)."""
        changed = self._changed_at
        if changed is None or time.monotonic() - changed < RELOAD_DEBOUNCE:
            return False
        self._changed_at = None
        current = file_hash(self.path)
        return current is not None and current not in skip

    def _on_event(self, event: FileSystemEvent) -> None:
        """Watchdog thread: note when the rules file was written, renamed or replaced."""
        if event.event_type in ("opened", "closed_no_write") or event.is_directory:
            return  # reading the file (or its neighbours) is not a change
        names = {os.path.basename(os.fsdecode(event.src_path))}
        names.add(os.path.basename(os.fsdecode(getattr(event, "dest_path", "") or "")))
        if self.path.name in names:
            self._changed_at = time.monotonic()  # only a timestamp; the caller's loop acts
            self.on_wake()
