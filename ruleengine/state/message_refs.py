"""The services' ids for alert messages, so a resolved notice can edit or reply to them.

A delivery worker keeps the id a service returned for an alert a ``resolves`` rule may close
(``keep``, in the transaction that marks the row delivered) with the notification as sent: an
edit rebuilds the alert's message from it. The worker of the resolved notice reads them back
(``originals``) when it sends, so the order of rendering never matters: the notice queues behind
its alert on the same destination and looks the id up once the alert is settled. An id is
forgotten once its alert was resolved, or when older than any alert stays open (``prune``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ruleengine.model import Notification, Original
from ruleengine.state.record import decode_record, encode


def keep(conn: sqlite3.Connection, notification: Notification, ref: str, now: float) -> None:
    """Remember the service's id of a delivered alert, inside the caller's transaction."""
    conn.execute(
        "INSERT INTO message_refs (id, ref, record, created) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET ref = excluded.ref, record = excluded.record,"
        " created = excluded.created",
        (notification.id, ref, encode(notification)[0], now),
    )


def originals(conn: sqlite3.Connection, ids: Sequence[str], destination: str) -> list[Original]:
    """The known messages of the alert notifications ``ids`` (sent to ``destination``), in
    that order."""
    found: dict[str, Original] = {}
    marks = ", ".join("?" * len(ids))
    sql = f"SELECT id, ref, record FROM message_refs WHERE id IN ({marks})"  # noqa: S608 - marks
    for id_, ref, record in conn.execute(sql, tuple(ids)) if ids else ():
        notification = Notification.from_record(decode_record(record, id_, destination))
        found[id_] = Original(ref, notification)
    return [found[i] for i in ids if i in found]


def forget(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """The alert is resolved: its messages need no id any more."""
    conn.executemany("DELETE FROM message_refs WHERE id = ?", [(i,) for i in ids])


def prune(conn: sqlite3.Connection, older_than: float) -> int:
    """Forget ids kept before ``older_than`` (their alerts expired unresolved)."""
    return conn.execute("DELETE FROM message_refs WHERE created < ?", (older_than,)).rowcount
