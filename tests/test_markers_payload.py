"""Marker payloads from exact bytes: every format and encoding scripts really write."""

from __future__ import annotations

import json

import pytest

from ruleengine.sources.markers.payload import MAX_DEPTH, BadMarker, decode, parse_payload
from tests.support.payloads import PS51_JSON, ps7_default, ps51_big_endian, ps51_out_file, ps51_utf8

EXPECTED = {
    "host": "SRV-01",
    "updates": ["KB5034441", "KB5034122"],
    "reboot": True,
    "note": "Mise à jour réussie",
}


def fields(raw: bytes, name: str = "m") -> tuple[str, dict[str, object]]:
    return parse_payload(decode(raw), name)


def test_powershell_51_out_file_utf16le_bom_crlf_json() -> None:
    raw = ps51_out_file(PS51_JSON)
    assert raw[:4] == b"\xff\xfe{\x00" and raw.endswith(b"}\x00\r\x00\n\x00")
    assert fields(raw, "srv.installed.json") == ("json", EXPECTED)


def test_powershell_51_big_endian_and_utf8_bom() -> None:
    assert fields(ps51_big_endian(PS51_JSON), "x.json") == ("json", EXPECTED)
    raw = ps51_utf8(PS51_JSON)
    assert raw[:4] == b"\xef\xbb\xbf{"
    assert fields(raw, "x.json") == ("json", EXPECTED)


def test_powershell_7_default_utf8_no_bom_crlf() -> None:
    text = json.dumps(EXPECTED, indent=2, ensure_ascii=False)  # PS 7 ConvertTo-Json layout
    assert fields(ps7_default(text), "x.json") == ("json", EXPECTED)


def test_utf32_with_bom_is_not_mistaken_for_utf16() -> None:
    raw = b"\xff\xfe\x00\x00" + "a=1\r\n".encode("utf-32-le")
    assert fields(raw) == ("kv", {"a": "1"})


def test_plain_text_from_out_file_gives_content_and_lines() -> None:
    raw = ps51_out_file("Backup of D: finished\nSize: 12 GB written")
    fmt, data = fields(raw, "backup.txt")
    assert fmt == "text"
    assert data == {
        "content": "Backup of D: finished\nSize: 12 GB written",
        "lines": ["Backup of D: finished", "Size: 12 GB written"],
    }


def test_key_value_lines_with_comments_quotes_and_crlf() -> None:
    raw = ps51_out_file('# written by install.ps1\npackage=7zip\nversion = "23.01"\n\ncode=0')
    assert fields(raw) == ("kv", {"package": "7zip", "version": "23.01", "code": "0"})


def test_yaml_mapping_with_dates_as_text() -> None:
    raw = ps7_default("vm: web-01\nprogress: 42\nstarted: 2024-05-01 10:00:00\ntags: [a, b]")
    fmt, data = fields(raw, "web-01.progress.yaml")
    assert fmt == "yaml"
    assert data == {
        "vm": "web-01",
        "progress": 42,
        "started": "2024-05-01T10:00:00",
        "tags": ["a", "b"],
    }


def test_yaml_is_sniffed_without_extension() -> None:
    assert fields(b"vm: web-01\nstate: done\n", "marker")[0] == "yaml"


@pytest.mark.parametrize(
    "raw", [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xff\xfe\r\x00\n\x00", b" \n"]
)
def test_empty_files_are_valid_empty_payloads(raw: bytes) -> None:
    assert fields(raw, "srv.rebooted.json") == ("text", {"content": "", "lines": []})


def test_extension_wins_over_sniffing() -> None:
    assert fields(b"a=1\n", "note.txt") == ("text", {"content": "a=1", "lines": ["a=1"]})
    assert fields(b"{not json", "x.txt")[0] == "text"


def test_template_syntax_in_payload_is_just_data() -> None:
    assert fields(b'{"x": "{{ 7*7 }}"}')[1] == {"x": "{{ 7*7 }}"}


@pytest.mark.parametrize(
    ("raw", "name", "reason"),
    [
        (b'{"a": ', "x.json", "invalid JSON"),
        (b"[1, 2]", "x.json", "must hold an object, not a list"),
        (b'"just text"', "x.json", "must hold an object, not text"),
        (b"a: [1, 2\n", "x.yaml", "invalid YAML"),
        (b"- a\n- b\n", "x.yaml", "must hold a mapping, not a list"),
        (b"a: !!python/object:os.system ls\n", "x.yaml", "invalid YAML"),
        (b"a: !!binary aGVsbG8=\n", "x.yaml", "binary values"),
        (b"a=1\nthis is not kv\n", "x.kv", "line 2: expected key=value"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "x.json", "binary content"),
        (b"abc\x00def", "x", "NUL bytes"),
        (b"caf\xe9=1\n", "x", "not UTF-8 text"),
        (b"\xff\xfe\x00\xd8", "x", "not UTF-16-LE text"),
        (b"ok\x07bell", "x", "control character 0x07"),
    ],
)
def test_bad_payloads_say_why(raw: bytes, name: str, reason: str) -> None:
    with pytest.raises(BadMarker, match=reason):
        fields(raw, name)


def test_yaml_bomb_is_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(BadMarker, match="aliases"):
        fields(bomb.encode(), "bomb.yaml")


def test_deep_nesting_is_refused_in_every_format() -> None:
    deep = MAX_DEPTH + 1
    with pytest.raises(BadMarker, match="nested deeper"):
        fields(("{" + '"a": {' * deep + "}" * deep + "}").encode(), "x.json")
    with pytest.raises(BadMarker, match="nested deeper"):
        fields(('{"a": ' + "[" * 5000 + "]" * 5000 + "}").encode(), "x.json")
    with pytest.raises(BadMarker, match="nested deeper"):
        fields(("a: " + "[" * deep + "]" * deep).encode(), "x.yaml")
    shallow = MAX_DEPTH - 2
    ok = "{" + '"a": {' * shallow + "}" * shallow + "}"
    assert fields(ok.encode(), "x.json")[0] == "json"


def test_windows_ansi_text_is_refused_with_the_offset() -> None:
    """5.1's ``Set-Content`` without -Encoding writes the ANSI code page (é = E9)."""
    with pytest.raises(BadMarker, match=r"offset 6.*-Encoding UTF8"):
        fields("note=réussi\r\n".encode("cp1252"), "x.kv")
