"""Connections to the state database: one per thread, the pragmas, and write transactions.

Durability over speed: WAL with ``synchronous=FULL``, so a committed batch survives power loss.
Each thread gets its own connection; SQLite serialises writers and WAL lets readers (``status``)
run beside the daemon. Readers use ``open_readonly``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ruleengine.errors import StateError
from ruleengine.state import schema

BUSY_TIMEOUT = 30.0  # seconds a writer waits for another (the daemon's engine, `dead retry`)
READ_BUSY_TIMEOUT_MS = 5000


def recovery_hint(path: Path) -> str:
    """The documented way out of a state database that cannot be used."""
    return (
        f"to start afresh: stop ruleengine, then `mv {path} {path}.broken` (with its -wal and -shm "
        "files); the next start creates a new database, log sources begin again per `start_at`, "
        "and undelivered notifications in the old file are not sent"
    )


def _private(state_dir: Path, path: Path) -> None:
    """A state directory ruleengine creates is 0700 and its database files 0600, whatever the
    umask (SQLite gives the -wal and -shm files the database file's mode). An existing
    directory keeps its mode: it may be shared (``StateDirectory=`` makes it private)."""
    if not state_dir.is_dir():
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
    # Errors here (exists, read-only file system) are SQLite's to report, with its diagnosis.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        with contextlib.suppress(OSError):
            if os.stat(path.with_name(name)).st_mode & 0o077:  # from an older ruleengine
                os.chmod(path.with_name(name), 0o600)


class Database:
    """``state_dir/state.db``, migrated on open; a connection per thread, closed together."""

    def __init__(self, state_dir: Path, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = state_dir / "state.db"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        # Writers of this process queue here, in order, instead of in SQLite's busy handler,
        # which sleeps 1, 2, 5, 10… ms between tries: an engine commit waiting behind a
        # delivery worker's one-row transaction would lose up to ~20 ms. Re-entrant, so a
        # nested transaction still fails as SQLite says instead of hanging.
        self._writer = threading.RLock()
        try:
            _private(state_dir, self.path)
            schema.migrate(self.conn(), self.path)
        except sqlite3.Error as exc:
            self.close()
            raise StateError(
                f"cannot use state database {self.path}: {exc}{diagnose(state_dir)}"
            ) from None
        except OSError as exc:
            self.close()
            raise StateError(f"cannot create state directory {state_dir}: {exc.strerror}") from None
        except StateError:
            self.close()
            raise

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: reads see the latest committed state)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            # Already WAL (every database but a new one): a no-op that takes no write lock.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            self._local.conn = conn
            with self._lock:
                # Threads come and go (an http source's workers, across reloads): a thread
                # that has ended will never use its connection again, so it is closed here.
                kept = []
                for thread, old in self._connections:
                    if thread.is_alive():
                        kept.append((thread, old))
                    else:
                        old.close()
                self._connections = [*kept, (threading.current_thread(), conn)]
        return conn

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable=False`` skips the fsync at commit.

        Not durable is only for bookkeeping whose loss in a power cut is harmless: it survives
        a process crash (the WAL is written), and if the OS loses it, the row is merely sent
        again or a ledger entry is cleaned up at the next start. Anything that precedes a side
        effect (deleting a marker) stays durable.
        """
        conn = self.conn()
        # A thread keeps the level of its last transaction: a dispatch worker marking rows
        # one by one does not switch it twice per row (each switch is a statement).
        if getattr(self._local, "durable", True) != durable:
            conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._local.durable = durable
        with self._writer:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for _thread, conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection, checked to be a ruleengine database this version understands."""
    if not path.exists():
        raise StateError(
            f"no state database at {path}: ruleengine has not run with this rules file yet"
        )
    try:
        conn = sqlite3.connect(
            path.absolute().as_uri() + "?mode=ro",
            uri=True,
            timeout=READ_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise StateError(f"cannot open state database {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout={READ_BUSY_TIMEOUT_MS}")
        version = schema.readable_version(conn)
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StateError(f"state database {path} is busy; try again") from None
        if "unable to open" in str(exc) or "readonly" in str(exc):
            raise StateError(f"cannot read state database {path}: {exc} (permissions?)") from None
        raise StateError(
            f"{path} is not a ruleengine state database ({exc}); {recovery_hint(path)}"
        ) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(
            f"state database {path} is corrupt ({exc}); {recovery_hint(path)}"
        ) from None
    if version > schema.VERSION:
        conn.close()
        raise StateError(
            f"{path} was written by a newer ruleengine (schema {version}, this one knows "
            f"{schema.VERSION}); upgrade ruleengine, or {recovery_hint(path)}"
        )
    return conn


def diagnose(state_dir: Path) -> str:
    """The likely cause behind SQLite's terse open errors ("unable to open", "disk I/O error")."""
    if hasattr(os, "statvfs"):  # not on Windows
        try:
            fs = os.statvfs(state_dir)
        except OSError:
            return ""
        if fs.f_flag & os.ST_RDONLY:
            return f" ({state_dir} is on a read-only filesystem)"
        if fs.f_bavail == 0 and fs.f_blocks > 0:
            return f" (the filesystem of {state_dir} is full)"
    if not os.access(state_dir, os.W_OK):
        return f" (no permission to write in {state_dir})"
    return ""
