"""Text from outside is shown, never interpreted: control characters in logs and CLI tables."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.config.destinations import ConsoleDestination
from ruleengine.escape import visible
from ruleengine.logsetup import setup_logging
from ruleengine.model import Notification
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext
from ruleengine.senders.console import ConsoleSender
from ruleengine.state import Store


def test_visible_escapes_controls_and_keeps_text() -> None:
    assert visible("plain tab\there, ünïcode ✓") == "plain tab\there, ünïcode ✓"
    assert visible("a\nb\r\x1b[2Jc\x00\x7f\x9b") == "a\\nb\\r\\e[2Jc\\x00\\x7f\\x9b"
    assert visible("user\u202eexe.txt") == "user\\u202eexe.txt"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_forged_log_line_stays_on_its_line(
    fmt: str, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("info", fmt, Redactor())
    name = "evil.json\n<0>EMERG ruleengine: root password is hunter2\x1b[8m"
    logging.getLogger("ruleengine.test").warning("bad marker %s", name)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "\x1b" not in err and "\\n<0>EMERG" in err and "\\e[8m" in err


def test_journald_lines_cannot_forge_a_priority(
    restore_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ruleengine.logsetup.journal_stream", lambda stream, environ: True)
    setup_logging("info", "text", Redactor())
    logging.getLogger("ruleengine.test").info("line\n<0>forged")
    [line] = capsys.readouterr().err.splitlines()
    assert line == "<6>INFO ruleengine.test: line\\n<0>forged"


def test_dead_list_shows_escapes_not_terminal_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path)
    item = Notification(
        id="e" * 32, destination="room", rule="r", source="s", text="\x1b]0;owned\x07\x1b[2Jwiped"
    )
    store.commit([item], [])
    row = store.next_pending("room")
    assert row is not None
    store.mark_dead(row.seq, "HTTP 500: \x1b[31mred\x1b[0m")
    store.close()
    assert main(["dead", "list", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\e]0;owned\\x07\\e[2Jwiped" in out and "\\e[31mred" in out


def test_console_destination_shows_escapes_and_keeps_message_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sender = ConsoleSender(ConsoleDestination(type="console"), SenderContext("screen", Redactor()))
    item = Notification(
        id="c" * 32,
        destination="screen",
        rule="r",
        source="s",
        text="first \x1b[2Jline\nsecond\rline",
        title="t\x1b]0;x\x07",
    )
    sender.send(item)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "t\\e]0;x\\x07: first \\e[2Jline\nsecond\\rline" in out


def test_status_shows_a_servers_escape_sequences_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path)
    item = Notification(id="d" * 32, destination="room", rule="r", source="s", text="x")
    store.commit([item], [])
    row = store.next_pending("room")
    assert row is not None
    store.mark_retry(row.seq, 0.0, "HTTP 500: \x1b[2J\x1b]0;pwned\x07")
    store.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"state_dir: {tmp_path}\ndestinations: {{room: {{type: console}}}}\n"
        "sources: {}\nrules: []\n",
        encoding="utf-8",
    )
    assert main(["status", "-c", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "HTTP 500: \\e[2J\\e]0;pwned\\x07" in out


def test_visible_takes_the_fast_path_only_for_printable_text() -> None:
    """Printable text comes back as is; a tab, NBSP or line separator is not "printable" to
    Python, so it goes through the escaping (which keeps the tab and the NBSP)."""
    text = "Nov 27 12:00:01 web1 sshd[42]: Failed password for root"
    assert visible(text) is text
    assert visible("a\tb\u00a0c") == "a\tb\u00a0c"
    assert visible("line\u2028two\u2067") == "line\u2028two\\u2067"
    assert visible("one\ntwo\x07", keep_newlines=True) == "one\ntwo\\x07"
