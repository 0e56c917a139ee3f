"""The journal source's pure parts: the export-format parser, entry → event, the cursor codec
and the config model. No journalctl needed."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from ruleengine.config.sources import JournalSource, Source
from ruleengine.sources.journal import cursor as position
from ruleengine.sources.journal.entry import to_event
from ruleengine.sources.journal.export import ExportParser
from tests.support.journalkit import export

CURSOR = "s=aa;i=10;b=bb;m=1;t=5f5e1000;x=cc"


def parse_all(data: bytes, cap: int = 1024, step: int | None = None) -> list:
    parser = ExportParser(cap)
    if step is None:
        return parser.feed(data)
    out = []
    for start in range(0, len(data), step):
        out += parser.feed(data[start : start + step])
    return out


def test_text_binary_and_repeated_fields_whole_or_fed_a_byte_at_a_time() -> None:
    data = export([{"MESSAGE": "two\nlines", "BLOB": b"\xff\x00x", "A": "1"}, {"MESSAGE": "b"}])
    data = data.replace(b"A=1\n", b"A=1\nA=2\n")  # a field sent twice
    for step in (None, 1, 7):
        entries = parse_all(data, step=step)
        assert [e["MESSAGE"] for e, _ in entries] == [[b"two\nlines"], [b"b"]]
        first, cut = entries[0]
        assert first["BLOB"] == [b"\xff\x00x"]
        assert first["A"] == [b"1", b"2"]
        assert cut == set()


@pytest.mark.parametrize("step", [None, 1000, 3])
def test_oversized_fields_are_cut_to_the_cap_and_the_rest_skipped(step: int | None) -> None:
    big = "x" * 5000
    data = export([{"MESSAGE": big, "BIN": b"\x01" * 5000 + b"\n"}, {"MESSAGE": "next"}])
    parser = ExportParser(300)
    entries = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        entries += parser.feed(chunk)
        assert len(parser._buffer) < 1000  # bounded, whatever the field sizes
    assert len(entries) == 2
    first, cut = entries[0]
    assert first["MESSAGE"] == [b"x" * 300]
    assert first["BIN"] == [b"\x01" * 300]
    assert cut == {"MESSAGE", "BIN"}
    assert entries[1][0]["MESSAGE"] == [b"next"] and entries[1][1] == set()


def entry(**fields: bytes) -> dict[str, list[bytes]]:
    base = {"__CURSOR": [CURSOR.encode()], "__REALTIME_TIMESTAMP": [b"1600000000000000"]}
    return {**base, **{k: [v] for k, v in fields.items()}}


def test_an_entry_becomes_an_event_with_the_documented_variables() -> None:
    event = to_event(
        "j",
        entry(
            MESSAGE=b"Failed password\nfor root\x00",
            PRIORITY=b"3",
            _PID=b"42",
            _HOSTNAME=b"web1",
            _SYSTEMD_UNIT=b"ssh.service",
            SYSLOG_IDENTIFIER=b"sshd",
            RAW=b"\xff",
        ),
    )
    assert event is not None
    assert event.kind == "line" and event.text == "Failed password\nfor root"
    assert event.time == 1_600_000_000.0
    fields = event.fields
    assert (fields["unit"], fields["identifier"], fields["hostname"]) == (
        "ssh.service",
        "sshd",
        "web1",
    )
    assert (fields["priority"], fields["priority_name"], fields["pid"]) == (3, "err", 42)
    assert fields["journal"]["RAW"] == "\ufffd"
    assert "__CURSOR" not in fields["journal"]
    assert to_event("j", entry(MESSAGE=b"x")) == to_event("j", entry(MESSAGE=b"x"))  # stable id


def test_unit_is_what_systemd_reports_about_only_from_pid_1() -> None:
    about = entry(MESSAGE=b"x", _PID=b"1", UNIT=b"db.service", _SYSTEMD_UNIT=b"init.scope")
    spoof = entry(MESSAGE=b"x", _PID=b"9", UNIT=b"db.service", _SYSTEMD_UNIT=b"app.service")
    assert to_event("j", about).fields["unit"] == "db.service"  # type: ignore[union-attr]
    assert to_event("j", spoof).fields["unit"] == "app.service"  # type: ignore[union-attr]


def test_odd_entries_do_not_crash() -> None:
    event = to_event("j", entry(PRIORITY=b"99", _PID=b"x"), truncated={"MESSAGE"})
    assert event is not None
    assert event.text == " [truncated]" and event.fields["priority"] is None
    assert event.fields["truncated"] == ["MESSAGE"]
    assert to_event("j", {"MESSAGE": [b"no cursor"]}) is None


def test_cursor_codec_and_the_gap_a_vanished_cursor_leaves() -> None:
    assert position.decode(position.encode(CURSOR)) == CURSOR
    assert position.decode(position.encode(None)) is None
    with pytest.raises(ValueError):
        position.decode('{"files": []}')
    saved = position.Cursor.parse(CURSOR)
    assert (saved.seqnum_id, saved.seqnum, saved.realtime) == ("aa", 16, 1600.0)
    same = position.Cursor.parse("s=aa;i=1a;b=bb;m=2;t=5f5e2000;x=dd")
    assert "about 9 entries" in position.gap(saved, same)
    other = position.Cursor.parse("s=ff;i=1;b=bb;m=2;t=5f5e2000;x=dd")
    assert "how many is unknown" in position.gap(saved, other)
    assert "no entry after it" in position.gap(saved, None)


def settings(**values: object) -> JournalSource:
    result = TypeAdapter(Source).validate_python({"type": "journal", **values})
    assert isinstance(result, JournalSource)
    return result


def test_config_priority_names_field_matches_and_one_place() -> None:
    assert settings(priority="warning").priority == 4
    assert settings(priority=2).priority == 2
    assert settings(matches={"_TRANSPORT": ["kernel", "syslog"]}).matches
    for bad in (
        {"priority": "loud"},
        {"priority": 9},
        {"matches": {"lower": "x"}},
        {"matches": {"__CURSOR": "x"}},
        {"directory": "/a", "files": ["/b"]},
        {"units": "ssh"},
    ):
        with pytest.raises(ValidationError):
            settings(**bad)
