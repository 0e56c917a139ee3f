"""A thin wrapper over watchdog: wake a source's thread when something changes in a directory;
``watch_directories`` picks raw inotify instead where it runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ruleengine.sources.watch import inotify

log = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, callback: Callable[[FileSystemEvent], None]) -> None:
        self.callback = callback

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.callback(event)


class DirectoryWatch:
    """Watches directories with the OS backend; the periodic rescan of each source is the net."""

    def __init__(self, callback: Callable[[FileSystemEvent], None], name: str) -> None:
        self._observer: Any = Observer()
        self._observer.name = f"watch-{name}"
        self._handler = _Handler(callback)
        self._watched: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, directory: Path, recursive: bool = False) -> bool:
        """Watch ``directory``; False when it cannot be watched (missing, no permission)."""
        with self._lock:
            if directory in self._watched:
                return True
            if not directory.is_dir():
                # Scheduled before start(), a missing directory would fail start() itself;
                # the source's rescan finds the directory once it exists.
                return False
            try:
                self._observer.schedule(self._handler, str(directory), recursive=recursive)
            except OSError as exc:
                log.debug("cannot watch %s: %s", directory, exc)
                return False
            self._watched.add(directory)
            return True

    def start(self) -> bool:
        """Start watching; False (and nothing left running) when the OS refuses, e.g. when
        the inotify instance or watch limit is reached."""
        try:
            self._observer.start()
        except OSError as exc:
            log.warning("cannot watch for changes (%s)", exc.strerror or exc)
            self.stop()
            return False
        return True

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(5.0)


def watch_directories(
    callback: Callable[[Any], None], name: str
) -> DirectoryWatch | inotify.InotifyWatch:
    """Raw inotify on Linux: every event is passed on at once. watchdog's inotify backend holds
    a moved-out event back for half a second to pair it with a moved-in one, and queues all
    later events behind it; a log source must see a rotation when it happens."""
    if inotify.available():
        try:
            return inotify.InotifyWatch(callback, name)
        except OSError as exc:
            log.debug("inotify unavailable (%s); using watchdog", exc)
    return DirectoryWatch(callback, name)
