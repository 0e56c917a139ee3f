"""Marker files byte for byte as Windows PowerShell 5.1 and PowerShell 7 write them."""

from __future__ import annotations


def ps51_out_file(text: str) -> bytes:
    """Windows PowerShell 5.1 ``$text | Out-File x`` and ``Set-Content -Encoding Unicode``:
    UTF-16 LE with the BOM FF FE, every line ended by CRLF (including the last)."""
    return b"\xff\xfe" + (text.replace("\n", "\r\n") + "\r\n").encode("utf-16-le")


def ps51_big_endian(text: str) -> bytes:
    """``Set-Content -Encoding BigEndianUnicode``: UTF-16 BE with the BOM FE FF, CRLF."""
    return b"\xfe\xff" + (text.replace("\n", "\r\n") + "\r\n").encode("utf-16-be")


def ps51_utf8(text: str) -> bytes:
    """``Set-Content -Encoding UTF8`` in 5.1: UTF-8 *with* a BOM, CRLF."""
    return b"\xef\xbb\xbf" + (text.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def ps7_default(text: str) -> bytes:
    """PowerShell 7 ``Out-File``/``Set-Content`` default on Windows: UTF-8 without BOM, CRLF."""
    return (text.replace("\n", "\r\n") + "\r\n").encode("utf-8")


# What Windows PowerShell 5.1's ConvertTo-Json prints (two spaces after colons, deep indent).
PS51_JSON = (
    "{\n"
    '    "host":  "SRV-01",\n'
    '    "updates":  [\n'
    '                    "KB5034441",\n'
    '                    "KB5034122"\n'
    "                ],\n"
    '    "reboot":  true,\n'
    '    "note":  "Mise à jour réussie"\n'
    "}"
)
