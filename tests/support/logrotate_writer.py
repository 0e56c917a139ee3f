"""A log-writing application for the logrotate tests, run as its own process.

``python tests/support/logrotate_writer.py PATH COUNT RATE`` appends ``line N`` for N in
1..COUNT at RATE lines per second, and reopens PATH on SIGHUP, as daemons do after logrotate's
postrotate. It prints ``ready`` first and ``done`` when it has written everything.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType


def main() -> None:
    path, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    reopen = False

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        nonlocal reopen
        reopen = True

    signal.signal(signal.SIGHUP, on_hup)
    handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - reopened on SIGHUP
    print("ready", flush=True)
    start = time.monotonic()
    for number in range(1, count + 1):
        if reopen:
            reopen = False
            handle.close()
            handle = open(path, "a", encoding="utf-8")  # noqa: SIM115
        handle.write(f"line {number}\n")
        handle.flush()
        delay = start + number / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    handle.close()
    # A rotation's SIGHUP may still come while the interpreter shuts down, when Python's handler
    # is gone: it must not kill us with a failure status.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    print("done", flush=True)


if __name__ == "__main__":
    main()
