"""The state database: the one owner of SQLite in ruleengine.

``db`` (connections, transactions), ``schema`` (every table, migrations), ``outbox`` (with
``dead_letters`` and the delivery ``journal``), ``positions`` (source positions, marker ledger
rows included), ``rules`` (throttle and digest state), ``report`` and its parts (read-only
status queries), and ``store``, the facade the daemon uses to commit a batch.
"""

from ruleengine.state.dead_letters import DeadLetter
from ruleengine.state.outbox import Delivery, OutboxRow
from ruleengine.state.store import Store

__all__ = ["DeadLetter", "Delivery", "OutboxRow", "Store"]
