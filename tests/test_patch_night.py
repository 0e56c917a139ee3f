"""examples/patch-night.yaml through a real engine and store on an injected clock: absence per
host, a silence during the window, one digest at the end, resolved notices, a threshold."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from ruleengine.config import load_config
from ruleengine.model import Event, stable_id
from ruleengine.rules.compiler import compile_model
from ruleengine.sources.markers.event import marker_event
from ruleengine.state import Store
from ruleengine.state import silences as silence_rows
from tests.support.enginekit import Clock, feed, make_engine, texts

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "patch-night.yaml"
BERLIN = ZoneInfo("Europe/Berlin")


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=BERLIN).timestamp()


def marker(name: str, **fields: object) -> Event:
    raw = json.dumps(fields).encode()
    info = os.stat_result((0o100644, 1, 1, 1, 0, 0, len(raw), 0, 0, 0))
    return marker_event("patches", name, Path("/drop") / name, raw, info)


def auth(text: str, offset: int, now: float) -> Event:
    return Event(stable_id("auth", offset), "auth", "line", text, now, {"line": text})


def test_patch_night(tmp_path: Path) -> None:
    model = load_config(EXAMPLE).model
    rules = compile_model(model)
    clock = Clock(at(2026, 12, 2, 21, 0))  # Wednesday, an hour before patch night
    engine, store, _ = make_engine(rules, tmp_path, clock)
    feed(engine, *(marker(f"{host}.patched.json") for host in ("web1", "web2", "db1")))

    clock.now = at(2026, 12, 2, 22, 5)  # `ruleengine silence add --match host=db1 --until 02:00`
    cli = Store(tmp_path)  # the CLI's own connection, as `silence add` uses
    with cli.transaction() as conn:
        silence_rows.add(
            conn,
            None,
            [("host", "db1")],
            clock.now,
            at(2026, 12, 3, 2, 0),
            "db1 rebuild",
            clock.now,
        )
    cli.close()
    clock.now = at(2026, 12, 2, 22, 40)
    feed(engine, marker("web1.rebooted.json"), marker("web2.rebooted.json"))
    clock.now = at(2026, 12, 2, 23, 0)
    feed(engine, marker("web1.install-failed.json", package="7zip", code=1603))
    feed(engine, marker("db1.install-failed.json", package="curl", code=1))  # silenced
    clock.now = at(2026, 12, 2, 23, 40)
    feed(engine, marker("web1.installed.json", package="7zip"))  # the retry worked
    feed(engine, marker("web2.installed.json", package="7zip"))  # nothing open: no news
    for offset in range(5):
        feed(
            engine,
            auth(
                f"sshd[1]: Failed password for root from 10.0.0.9 port {offset}", offset, clock.now
            ),
        )
    assert texts(store) == [
        "7zip failed to install on web1 (exit 1603)",
        "7zip on web1 resolved after 40m",
        "5 failed logins from 10.0.0.9 since "
        + dt.datetime.fromtimestamp(clock.now).strftime("%H:%M"),
    ]

    clock.now = at(2026, 12, 3, 2, 0)  # the night is over: one digest, one silence summary
    engine.flush_due()
    assert texts(store)[3:] == [
        "2 server(s) rebooted: web1, web2",
        "1 notification was silenced during 'db1 rebuild' (host=db1); "
        "see `ruleengine history --silenced`",
    ]

    clock.now = at(2026, 12, 9, 21, 0)  # next week: db1 does not report
    feed(engine, marker("web1.patched.json"), marker("web2.patched.json"))
    clock.now = at(2026, 12, 10, 3, 0)  # a week and the 6 h grace after db1's last run
    engine.flush_due()
    clock.now += 600
    engine.flush_due()
    assert texts(store)[5:] == ["1 server(s) missed patch night: db1"]
    store.close()
