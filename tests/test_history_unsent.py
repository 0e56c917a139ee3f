"""``ruleengine history --silenced``: what silences held back, recorded when it was held back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.state import Store
from ruleengine.state import silences as silence_rows
from ruleengine.state.history import Query
from tests.support.enginekit import Clock, feed, make_engine, texts
from tests.support.rulekit import line, ruleset

RULES = """
- name: reboot
  source: log
  match: '(?P<host>\\S+) rebooted'
  title: "Reboot"
  message: "{{ host }} rebooted"
  to: [out, other]
- name: failed
  source: log
  match: '(?P<host>\\S+) failed'
  message: "{{ host }} failed"
"""


def history_json(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["history", "--state-dir", str(state), "--json", *args]) == 0
    return list(json.loads(capsys.readouterr().out))


def test_silenced_notifications_are_listed_with_their_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    with store.transaction() as conn:
        ident = silence_rows.add(conn, "reboot", [], clock.now, clock.now + 3600, "patch", 0)
    feed(engine, line("web1 rebooted", offset=1), line("web1 failed", offset=2))
    assert texts(store) == ["web1 failed"]
    clock.advance(3600)
    engine.flush_due()  # the summary points at the listing
    assert texts(store)[1].endswith("see `ruleengine history --silenced`")
    store.close()

    silenced = history_json(tmp_path, capsys, "--silenced")
    assert [(e["rule"], e["destination"], e["outcome"]) for e in silenced] == [
        ("reboot", "out", "silenced"),
        ("reboot", "other", "silenced"),
    ]
    assert {e["cause"] for e in silenced} == {f"silence {ident}: patch"}
    assert {e["text"] for e in silenced} == {"Reboot: web1 rebooted"}
    assert {e["time"] for e in silenced} == {clock.now - 3600}  # when it was held back
    assert history_json(tmp_path, capsys) == []  # nothing was sent (the queue is not worked)
    assert main(["history", "--state-dir", str(tmp_path), "--silenced"]) == 0
    table = capsys.readouterr().out
    assert f"silence {ident}: patch | Reboot: web1 rebooted" in table
    assert "silenced" in table


def test_silenced_entries_commit_with_the_batch_and_stay_out_of_the_default_view(
    tmp_path: Path,
) -> None:
    clock = Clock()
    engine, store, _ = make_engine(ruleset(RULES), tmp_path, clock)
    with store.transaction() as conn:
        silence_rows.add(conn, None, [("host", "web2")], clock.now, clock.now + 60, "", 0)
    feed(engine, line("web2 failed", offset=1))
    store.close()
    reader = Store(tmp_path)  # another connection: what was committed
    (entry,) = reader.history(Query(outcomes=("silenced",)))
    assert (entry.rule, entry.text, entry.attempts) == ("failed", "web2 failed", 0)
    assert entry.cause is not None and entry.cause.endswith(": host=web2")  # no reason given
    assert reader.history(Query()) == []
    assert reader.history(Query(outcomes=("dead",))) == []
    reader.close()
