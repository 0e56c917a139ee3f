"""The literal prefilter must never change what matches: compare with plain ``re`` per line."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ruleengine.rules import hs, scan
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.literals import _CASE_EXTRAS, case_variants
from ruleengine.rules.prefilter import required_literals
from tests.support.rulekit import fast, line, naive, ruleset

BACKENDS = [
    "re",
    pytest.param(
        "hyperscan",
        marks=pytest.mark.skipif(not hs.available(), reason="hyperscan extra not installed"),
    ),
]


def ruleset_on(backend: str, rules: str) -> RuleSet:
    """Rules whose line scanner uses the given prefilter backend."""
    saved, scan.BACKEND = scan.BACKEND, backend
    try:
        return ruleset(rules)
    finally:
        scan.BACKEND = saved


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"Package (?P<p>\S+) install FAILED", ((" install FAILED", False),)),
        (r"abc\d+defgh", (("defgh", False),)),
        (r"(?:foo|barbaz) end", ((" end", False),)),
        (r"(?:foo|barbaz)", (("foo", False), ("barbaz", False))),
        (r"(?i)error: (?P<x>\w+)", (("error: ", True),)),
        (r"x(?i:HELLO)y", (("HELLO", True),)),
        (r"(?:abc)?", None),
        (r"(?:abc)*xyz", (("xyz", False),)),
        (r"(?:abcd)+", (("abcd", False),)),
        (r"foo|\d+", None),
        (r"[abc]+\s", None),
        (r"(?=abc)", None),
    ],
)
def test_required_literals_table(pattern: str, expected: object) -> None:
    assert required_literals(re.compile(pattern)) == expected


def test_case_variants_cover_every_code_point() -> None:
    """Every character re folds onto an ASCII letter is among the scanner's heads."""
    special = {
        chr(cp)
        for cp in range(128, 0x110000)
        if not 0xD800 <= cp < 0xE000 and re.fullmatch("[a-z]", chr(cp), re.IGNORECASE)
    }
    assert special <= set(_CASE_EXTRAS)
    assert set(case_variants("k")) == {"k", "K", "\u212a"}
    assert set(case_variants("s")) == {"s", "S", "\u017f"}


ALPHABET = "abcABC ké:[]=0-\u017fK\u212a\u0131\u0130\r"
ASCII_ONLY = "abcABC kK:[]=0-\r"  # whole chunks of ASCII take the Hyperscan path
pieces = st.sampled_from(
    [
        "abc", "ab", "Abc", "k", "é", ":", r"\[", "=", " ", r"\d+", r"\w", ".", "[ab]",
        "(?i:ab)", "(?i:k)", "(?i:s)", "(?:ab|cA)", "(?:x)?", "b*", "(a+)", "(?P<n>c)?", "^", "$",
        r"\b", "\u017f", "(?i)",
    ]
)  # fmt: skip
patterns = st.lists(pieces, min_size=1, max_size=5).map(
    lambda parts: ("(?i)" if "(?i)" in parts else "") + "".join(p for p in parts if p != "(?i)")
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=120, deadline=None)
@given(
    st.lists(patterns, min_size=1, max_size=6),
    st.one_of(
        st.lists(st.text(alphabet=ALPHABET, max_size=14), min_size=1, max_size=25),
        st.lists(st.text(alphabet=ASCII_ONLY, max_size=14), min_size=1, max_size=25),
    ),
)
def test_same_result_as_plain_re(backend: str, pats: list[str], lines: list[str]) -> None:
    assume(all(p.count("(?P<n>") <= 1 for p in pats))
    yaml_rules = "".join(
        f"- {{name: r{i}, source: log, match: '{p.replace(chr(39), chr(39) * 2)}', message: m}}\n"
        for i, p in enumerate(pats)
    )
    rules = ruleset_on(backend, yaml_rules).by_source["log"]
    text = "\n".join(lines)
    assert fast(rules, text) == naive(rules, text)


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_literals_and_case_insensitive_rules(backend: str) -> None:
    rules = ruleset_on(
        backend,
        """
        - {name: a, source: log, match: 'sshd\\[\\d+\\]: Failed pass (?P<user>\\S+)', message: m}
        - {name: b, source: log, match: '(?i)disk (?P<dev>sd[a-z]) error', message: m}
        - {name: c, source: log, match: 'ERROR code=(?P<c>\\d+)', exclude: '=0\\b', message: m}
        - {name: d, source: log, match: '.*', message: m}
        """,
    )
    text = "\n".join(
        [
            "sshd[1]: Failed pass root",
            "DISK SDA ERROR",
            "di\u017fk sdb error",  # long s folds to s under IGNORECASE
            "ERROR code=0",
            "ERROR code=12",
            "nothing here",
        ]
    )
    group = rules.by_source["log"]
    assert fast(group, text) == naive(group, text)
    fired = [f.rule.name for f in rules.fire([line(t) for t in text.split("\n")])]
    assert fired == ["a", "d", "b", "d", "b", "d", "d", "c", "d", "d"]


def test_batch_with_embedded_newline_falls_back_to_per_line() -> None:
    rules = ruleset("- {name: a, source: log, match: 'b$', message: m}\n")
    events = [line("a\nb"), line("xb")]
    assert [[r.name for r, _ in s] for s in rules.selections(events)] == [["a"], ["a"]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_growing_batches_rechoose_keys_without_changing_results(backend: str) -> None:
    """The key choice is redone as texts grow (a daemon's first batch may be one line)."""
    rules = ruleset_on(
        backend,
        """
        - {name: a, source: log, match: 'user (?P<u>\\w+) FAILED', message: m}
        - {name: b, source: log, match: '(?i)kernel: (?P<d>sd\\w) error', message: m}
        """,
    )
    group = rules.by_source["log"]
    sample = ["user bob FAILED", "KERNEL: sdb ERROR", "ordinary line", "user x ok"]
    for size in (1, 3, 40, 4000):
        text = "\n".join(sample[i % len(sample)] + f" {i}" for i in range(size))
        assert fast(group, text) == naive(group, text)
