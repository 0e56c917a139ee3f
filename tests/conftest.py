from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import daemon_outputs
from tests.support.receiver import Receiver


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves threads running (a stop that does not stop is a bug)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        # The receiver's per-connection threads end with their connections; the HTTP senders'
        # shared deadline watchdog ends a second after the last attempt of the process.
        leaked = [t for t in leaked if not t.name.startswith("Thread-") and t.name != "deadlines"]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads leaked: {[t.name for t in leaked]}"


@pytest.fixture(scope="session", autouse=True)
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite's own compile cache (daemon subprocesses inherit it): never ~/.cache."""
    path = tmp_path_factory.mktemp("compile-cache")
    previous = os.environ.get("RULEENGINE_CACHE_DIR")
    os.environ["RULEENGINE_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        del os.environ["RULEENGINE_CACHE_DIR"]
    else:
        os.environ["RULEENGINE_CACHE_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_daemon_log() -> Iterator[None]:
    """After the whole run: no daemon subprocess ever logged a URL with its path unmasked."""
    yield
    leaked = daemon_outputs.leaks()
    assert not leaked, "daemon logs showed secret-bearing URLs:\n" + "\n".join(leaked[:20])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def write_rules(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a rules file into tmp_path and return its path."""

    def write(text: str, name: str = "rules.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
