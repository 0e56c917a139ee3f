"""The Hyperscan translation of a rule's regex may only widen it: never hide a line ``re`` matches.

Checked two ways: the translated expression itself reports a match on every line ``re.search``
matches (hypothesis over a wide mix of regex constructs), and the whole line selection through
``SourceRules.select_text`` equals plain ``re`` line by line, on both scanner backends.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ruleengine.rules import hs, scan
from ruleengine.rules.hsregex import translate
from tests.support.rulekit import fast, naive, ruleset

needs_hyperscan = pytest.mark.skipif(not hs.available(), reason="hyperscan extra not installed")

# Constructs the translation handles specially: classes (negated, with categories, case-folded),
# anchors and look-arounds (dropped), atomic groups, lazy and possessive repeats, counted
# repeats, local flags, trailing optional parts (cut), and non-ASCII literals.
PIECES = [
    "ab", "Ab", "k", ":", " ", "=", r"\[", r"\)", "é", "\u017f", "\u212a",
    r"\d+", r"\w", r"\s", r"\S+", r"\W", r"\D", ".", ".*", ".+?", "[ab]", "[^)]+", "[^a-c]",
    r"[\d.]+", "[A-F0-9]{2}", "a{2,3}", "b{0,2}", "c{0}", "a{1,150}", "(?:ab|cA)", "(?:x)?",
    "b*", "(a+)",
    "(?P<n>c+)", "(?>ab)", "a++", "^", "$", r"\b", r"\B", r"\A", r"\Z", "(?=a)", "(?!b)",
    "(?<=a)", "(?<!b)", "(?i:ab)", "(?i:k)", "(?i:s)", "(?-i:a)", "(?s:.)", "(?a:\\w)", "(?i)",
]  # fmt: skip
patterns = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map(
    lambda parts: ("(?i)" if "(?i)" in parts else "") + "".join(p for p in parts if p != "(?i)")
)
ASCII_LINE = st.text(alphabet="abcABCkKsS xé:[]()=0-9.\t\r\x1c", max_size=16).map(
    lambda s: s.encode("ascii", "ignore").decode()
)

MIXED_LINE = st.text(alphabet="abcAkK xé:()=0.\u017f\u212a\u00e9", max_size=12)


def _compiles(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ab", rb"\x61\x62"),
        ("(?i)k", rb"[\x4b\x6b]"),  # the Kelvin sign is not ASCII: only k and K
        ("(?i)\u017f", rb"[\x53\x73]"),  # long s folds onto ASCII s and S
        ("\u00e9", rb"\xff"),  # no ASCII character: a byte ASCII text never holds
        ("^ab$", rb"\x61\x62"),  # anchors dropped
        (r"a\d+", rb"\x61(?:[\x30-\x39]){1,1}"),  # a trailing repeat cut to its minimum
        (r"a(?P<m>.+)", rb"\x61(?:(?:[\x00-\x09\x0b-\x7f]){1,1})"),
        (r"a(?:b)?", rb"\x61"),
        (r"ab\d+cdef[0-9]", rb"\x63\x64\x65\x66[\x30-\x39]"),  # from the longest literal on
        (r"(?:a|b)\d", rb"[\x61-\x62][\x30-\x39]"),  # re made the branch a class
        (r"ab(?P<x>c)\1d", None),
        (r"abc{60000}", rb"\x61\x62(?:\x63){100,}"),  # widened: Hyperscan refuses such bounds
        (r"ab(?:x|y){0}z", rb"\x61\x62\x7a"),  # a back-reference after the longest literal
        (r"(a)\1", None),  # back-reference: keep the literal prefilter
        (r"a|b*", None),  # may match empty: nothing to prefilter
    ],
)
def test_translation_table(pattern: str, expected: bytes | None) -> None:
    assert translate(re.compile(pattern)) == expected


@needs_hyperscan
@settings(max_examples=300, deadline=None)
@given(patterns, st.lists(ASCII_LINE, min_size=1, max_size=12))
def test_translation_reports_every_matching_line(pattern: str, lines: list[str]) -> None:
    compiled = _compiles(pattern)
    assume(compiled is not None)
    assert compiled is not None
    expression = translate(compiled)
    assume(expression is not None)
    assert expression is not None
    expr = hs.prefilter(expression, 0)
    assume(hs.compiles(expr))
    text = "\n".join(lines)
    ends = hs.HyperscanScanner([expr]).ends(text.encode("ascii"))
    reported = {text.count("\n", 0, end - 1) for end, _ in ends}
    for number, line in enumerate(lines):
        if compiled.search(line):
            assert number in reported, (pattern, line)


@pytest.mark.parametrize("backend", ["re", pytest.param("hyperscan", marks=needs_hyperscan)])
@settings(max_examples=150, deadline=None)
@given(
    st.lists(patterns, min_size=1, max_size=5),
    st.lists(st.one_of(ASCII_LINE, MIXED_LINE), min_size=1, max_size=20),
)
def test_selection_equals_plain_re(backend: str, pats: list[str], lines: list[str]) -> None:
    assume(all(_compiles(p) is not None and p.count("(?P<n>") <= 1 for p in pats))
    yaml_rules = "".join(
        f"- {{name: r{i}, source: log, match: '{p.replace(chr(39), chr(39) * 2)}', message: m}}\n"
        for i, p in enumerate(pats)
    )
    saved, scan.BACKEND = scan.BACKEND, backend
    try:
        rules = ruleset(yaml_rules).by_source["log"]
    finally:
        scan.BACKEND = saved
    text = "\n".join(lines)
    assert fast(rules, text) == naive(rules, text)


@needs_hyperscan
def test_noise_holding_every_literal_is_not_a_candidate() -> None:
    """The point of translating: a literal-only prefilter would hand this line to Python."""
    rules = ruleset(
        "- {name: d, source: log, match: 'container (?P<c>[0-9a-f]{4}) died exitCode=[1-9]',"
        " message: m}\n"
    ).by_source["log"]
    scanner = rules.scanner
    assert scanner is not None and scanner.translated == frozenset({0})
    text = "x container 01ab died exitCode=0\ny container 01ab died exitCode=3"
    assert [(s, e) for s, e, _ in scanner.spans(text)] == [(33, len(text))]
    assert fast(rules, text) == naive(rules, text) == [(33, [("d", {"c": "01ab"})])]


@needs_hyperscan
def test_untranslatable_rule_still_found_by_its_literal() -> None:
    rules = ruleset(
        "- {name: b, source: log, match: 'pair (?P<w>ab)\\1', message: m}\n"
        "- {name: t, source: log, match: 'ERROR code=\\d', message: m}\n"
    ).by_source["log"]
    assert rules.scanner is not None and rules.scanner.translated == frozenset({1})
    text = "pair abab\nERROR code=1\npair abba\nERROR code=x"
    assert fast(rules, text) == naive(rules, text)
    assert [names for _s, names in fast(rules, text)] == [
        [("b", {"w": "ab"})],
        [("t", {})],
    ]


@needs_hyperscan
def test_mixed_chunk_scans_ascii_lines_with_hyperscan_and_others_with_re() -> None:
    rules = ruleset(
        "- {name: e, source: log, match: '(?i)error (?P<w>\\w+)', message: m}\n"
    ).by_source["log"]
    assert rules.scanner is not None
    lines = ["error one", "caf\u00e9 error deux", "ok", "ERROR three", "\u00e9", "no"]
    text = "\n".join(lines)
    assert rules.scanner.tests == []  # Hyperscan covers the rule: no literal chosen yet
    spans = list(rules.scanner.spans(text))
    assert [text[s:e] for s, e, _known in spans] == [
        "error one",
        "caf\u00e9 error deux",
        "ERROR three",
    ]
    assert rules.scanner.tests != []  # the re scan was prepared for the accented line
    assert fast(rules, text) == naive(rules, text)
    assert [fields["w"] for _s, found in fast(rules, text) for _n, fields in found] == [
        "one",
        "deux",
        "three",
    ]


@needs_hyperscan
def test_expression_hyperscan_refuses_falls_back_to_the_literal() -> None:
    rules = ruleset(
        "- {name: huge, source: log, match: 'ab(?:(?:a{90}){90}){90}', message: m}\n"
        "- {name: t, source: log, match: 'ERROR code=\\d', message: m}\n"
    ).by_source["log"]
    assert rules.scanner is not None and rules.scanner.translated == frozenset({1})
    text = "ab x\nERROR code=1\nnothing"
    assert [(s, known) for s, _e, known in rules.scanner.spans(text)] == [(0, {0}), (5, {1})]
    assert fast(rules, text) == naive(rules, text) == [(5, [("t", {})])]


@needs_hyperscan
def test_re_scan_prepared_only_when_a_non_ascii_line_turns_up() -> None:
    rules = ruleset("- {name: e, source: log, match: 'error (?P<w>\\w+)', message: m}\n").by_source[
        "log"
    ]
    scanner = rules.scanner
    assert scanner is not None and scanner.translated == frozenset({0})
    ascii_text = "error one\nfine"
    assert fast(rules, ascii_text) == naive(rules, ascii_text)
    assert scanner.tests == []  # nothing chosen: Hyperscan needed no choice
    mixed = "caf\u00e9 error deux\nerror trois"
    assert fast(rules, mixed) == naive(rules, mixed)
    assert [name for _s, found in fast(rules, mixed) for name, _f in found] == ["e", "e"]
    assert scanner.tests != []


@needs_hyperscan
def test_a_match_at_the_end_of_a_short_block_is_found() -> None:
    """Hyperscan 5.4 misses ``ab`` ending a 17-34 byte block beside ``ka[0-9]+b`` (found by the
    property test above); the scanner pads the block so that no line is lost."""
    rules = ruleset(
        "- {name: r0, source: log, match: 'ab', message: m}\n"
        "- {name: r1, source: log, match: 'kab\\d+ab', message: m}\n"
    ).by_source["log"]
    for zeros in range(40):
        text = "0" * zeros + "\nab"
        assert fast(rules, text) == naive(rules, text) == [(zeros + 1, [("r0", {})])]
