"""The supervisor in-process: what lets ``run``'s loop block instead of polling."""

from __future__ import annotations

import threading
from pathlib import Path

from ruleengine.config import load_config
from ruleengine.pipeline.supervisor import RELOAD_DEBOUNCE, Supervisor
from ruleengine.redact import Redactor
from tests.support.daemon import rules_text
from tests.support.receiver import Receiver


def test_idle_supervisor_has_no_timer_and_a_rules_file_change_wakes_the_loop(
    tmp_path: Path, receiver: Receiver
) -> None:
    """No systemd and no pending change: ``next_timer`` is None, so the loop sleeps until a
    signal or a wake-up. Saving the rules file wakes it and arms the reload debounce."""
    log, rules = tmp_path / "app.log", tmp_path / "rules.yaml"
    log.write_text("")
    rules.write_text(rules_text(tmp_path / "state", log, receiver.url, "x"))
    woken = threading.Event()
    supervisor = Supervisor(load_config(rules), Redactor(), stop_timeout=5, on_wake=woken.set)
    supervisor.start()
    try:
        assert supervisor.next_timer() is None
        rules.write_text(rules.read_text().replace('"x"', '"y"'))
        assert woken.wait(10), "the rules file watch did not wake the loop"
        timer = supervisor.next_timer()
        assert timer is not None
        assert timer <= RELOAD_DEBOUNCE
    finally:
        assert supervisor.stop()
