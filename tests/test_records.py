"""Outbox records: orjson where it is installed, the standard library's json otherwise and for
what orjson refuses; either way a record reads back as it was written, and each reads the
other's rows."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from ruleengine.model import Notification
from ruleengine.state import record
from ruleengine.templates import jsonable

FIELDS: list[dict[str, Any]] = [
    {"line": "Dec  2 sshd[12]: Failed password for root", "offset": 1234, "path": "/var/log/x"},
    {"line": "Größe überschritten ✓", "users": ["a", "b"], "nested": {"k": [1, 2.5, None]}},
    {"file": "bad-\udcff-name.marker"},  # a file name that is not UTF-8: orjson refuses it
    {"count": 2**70},  # past 64 bits: orjson refuses it
    {"empty": "", "zero": 0.0, "tiny": 1e-07, "big": 1.5e300, "flag": True},
]


def notification(fields: dict[str, Any]) -> Notification:
    return Notification(
        id="n1",
        destination="room",
        rule="r",
        source="s",
        text="text ✓",
        created=1796220274.0604508,
        fields=fields,
        resolves=("a", "b"),
    )


@pytest.fixture(params=["orjson", "json"])
def encoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        pytest.importorskip("orjson", reason="orjson has no wheel here: json is what runs")
    else:
        monkeypatch.setattr(record, "_orjson", None)
    return str(request.param)


@pytest.mark.parametrize("fields", FIELDS)
def test_a_record_reads_back_as_written(encoder: str, fields: dict[str, Any]) -> None:
    note = notification(fields)
    stored, size = record.encode(note)
    assert size == len(stored if isinstance(stored, bytes) else stored.encode())
    assert Notification.from_record(record.decode_record(stored, "n1", "room")) == note


@pytest.mark.parametrize("fields", FIELDS)
def test_both_encoders_write_the_same_json(fields: dict[str, Any]) -> None:
    pytest.importorskip("orjson", reason="orjson has no wheel here")
    stored = notification(fields).stored()
    assert json.loads(record.dumps(stored)) == json.loads(record._COMPACT.encode(stored))


def test_rows_with_nan_from_older_versions_are_read(encoder: str) -> None:
    old = '{"rule":"r","source":"s","text":"t","fields":{"x":NaN}}'
    assert math.isnan(record.decode_record(old, "n1", "room")["fields"]["x"])


def test_floats_json_cannot_hold_become_text() -> None:
    assert [jsonable(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "nan",
        "inf",
        "-inf",
        1.5,
    ]
    assert jsonable({"payload": [math.nan]}) == {"payload": ["nan"]}
