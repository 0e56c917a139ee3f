"""Print one readable, coloured line per notification: the default that needs no credentials."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ruleengine.colors import to_rgb
from ruleengine.config.destinations import ConsoleDestination
from ruleengine.escape import visible
from ruleengine.model import Delivered, Notification, Outcome, Retry
from ruleengine.senders import SenderContext

_RESET = "\033[0m"


class ConsoleSender:
    default_rate: float | None = None

    def __init__(self, settings: ConsoleDestination, context: SenderContext) -> None:
        self.settings = settings
        self.name = context.name
        self._lock = threading.Lock()
        self._color: tuple[TextIO, bool] | None = None  # the stream last asked, and its answer
        self._stamp = (-1, "")  # the last second shown, and its text: a catch-up repeats it

    def _stream(self) -> TextIO:
        return sys.stderr if self.settings.stream == "stderr" else sys.stdout

    def _use_color(self, stream: TextIO) -> bool:
        """Asked once per stream (``isatty`` is a system call; a catch-up writes many lines)."""
        if self._color is None or self._color[0] is not stream:
            self._color = (stream, self._decide_color(stream))
        return self._color[1]

    def _decide_color(self, stream: TextIO) -> bool:
        mode = self.settings.color_output
        if mode != "auto":
            return mode == "always"
        if os.environ.get("NO_COLOR"):
            return False
        return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()

    def format(self, notification: Notification, color: bool) -> str:
        stamp = self._clock(notification.created or time.time())
        bell = " (!)" if notification.notify else ""
        title = f"{notification.title}: " if notification.title else ""
        # Text from outside must not drive the terminal (ESC sequences, a bare CR overwriting).
        text = visible(f"{title}{notification.text}", keep_newlines=True)
        head = f"{stamp} [{visible(notification.rule)}]{bell}"
        if not color:
            return f"{head} {notification.color.upper()}: {text}"
        r, g, b = to_rgb(notification.color, notification.id)
        swatch = f"\033[38;2;{r};{g};{b}m"
        return f"{swatch}\u25cf{_RESET} {head} {swatch}{text}{_RESET}"

    def _clock(self, created: float) -> str:
        second = int(created)
        if self._stamp[0] != second:
            self._stamp = (second, time.strftime("%H:%M:%S", time.localtime(second)))
        return self._stamp[1]

    def preview(self, notification: Notification) -> dict[str, Any]:
        return {"stream": self.settings.stream, "line": self.format(notification, color=False)}

    def send(self, notification: Notification) -> Outcome:
        return self.send_many((notification,))[0]

    def send_many(self, notifications: Sequence[Notification]) -> list[Outcome]:
        """One write for them all: a catch-up prints thousands of lines."""
        stream = self._stream()
        outcome: Outcome = Delivered()
        try:
            with self._lock:
                color = self._use_color(stream)
                lines = [self.format(n, color) for n in notifications]
                stream.write(_writable("\n".join(lines), stream) + "\n")
                stream.flush()
        except (OSError, ValueError) as exc:  # closed or broken pipe: try again later
            outcome = Retry(f"cannot write to {self.settings.stream}: {exc}")
        return [outcome] * len(notifications)

    def close(self) -> None:
        """Nothing to release."""


def _writable(text: str, stream: TextIO) -> str:
    """``text`` as ``stream`` can always encode it. A marker's file name may hold undecodable
    bytes (lone surrogates) and the locale may not be UTF-8: a write that fails would be
    retried ahead of every later notification, so unencodable characters are escaped."""
    if text.isascii():
        return text  # every encoding a terminal or journal uses has ASCII
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding, "replace")
