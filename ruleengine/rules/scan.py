"""Find the lines of a text chunk that may match any of many rules, in one pass.

Each literal is represented by a key substring starting at its rarest character (rarity sampled
from the first chunk scanned). All keys are joined into one trie-shaped alternation whose
alternatives each start with a plain character, so ``re`` can skip ahead with its first-character
set at C speed instead of trying every alternative at every position. The cost of a scan grows
with the text, hardly with the number of literals. Where Hyperscan is installed (a default
dependency on platforms with wheels), ASCII chunks are scanned by Hyperscan instead (``hs.py``),
on each rule's whole regex translated to a superset (``hsregex.py``), so a line holding a rule's
literals but not matching it costs no Python work; rules that do not translate are found by
their literals there. A scanner is not thread-safe: each RuleSet is used by one thread (the
engine's, or a dry run's).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from ruleengine.rules import hs
from ruleengine.rules.literals import (
    Cost,
    case_variants,
    is_uncased,
    key_start,
    literal_tests,
    trie,
)
from ruleengine.rules.prefilter import Requirement

log = logging.getLogger(__name__)
#: "auto" uses Hyperscan when it can be imported, "re" never does.
BACKEND = os.environ.get("RULEENGINE_PREFILTER", "auto")

KEY_LENGTH = 16  # longer keys add nothing: the line is checked in full afterwards
SAMPLE = 64 * 1024
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class LiteralScanner:
    """Spans of lines (``start``, ``end``) in a ``\\n``-separated text containing any literal.

    Built from each rule's candidate requirements (each valid on its own) and, for Hyperscan,
    each rule's regex; on the first text it sees, it picks per rule the candidate whose keys are
    rarest in that text, then compiles.
    """

    def __init__(
        self,
        candidates: Sequence[Sequence[Requirement]],
        backend: str | None = None,
        patterns: Sequence[re.Pattern[str]] = (),
    ) -> None:
        self.candidates = [list(c) for c in candidates]
        self.backend = backend or BACKEND
        self._use_hyperscan = self.backend != "re" and hs.available()
        #: Rules (indexes) whose whole regex Hyperscan prefilters; compiled with the rules, since
        #: it does not depend on the text, in a thread (Hyperscan compiles without the GIL, so
        #: start-up goes on meanwhile) that the first scan waits for.
        self._translated: frozenset[int] = frozenset()
        self._regex_db: hs.HyperscanScanner | None = None
        self._compiling: hs.Compiling | None = None
        if self._use_hyperscan and patterns:
            self._compiling = hs.Compiling(patterns)
        #: The literals of the other rules, per choice; None (with Hyperscan) = use the re scan.
        self._literal_db: hs.HyperscanScanner | None = None
        self._hyperscan_ready = False
        self.chosen: list[Requirement] = []
        #: (test, indexes of the rules whose chosen requirement it covers), one per distinct
        #: literal: a line goes to a rule's regex only if one of the rule's tests passes.
        self.tests: list[tuple[str | Callable[[str], object], tuple[int, ...]]] = []
        #: ``tests`` split by kind, so checking a line needs no type test per literal.
        self.plain_tests: list[tuple[str, tuple[int, ...]]] = []
        self.folded_tests: list[tuple[Callable[[str], object], tuple[int, ...]]] = []
        self._regex: re.Pattern[str] | None = None
        self._by_head: dict[str, tuple[int, ...]] = {}
        self._sampled = 0

    @property
    def translated(self) -> frozenset[int]:
        self._compiled()
        return self._translated

    def _compiled(self) -> None:
        if self._compiling is not None:
            self._regex_db, self._translated = self._compiling.result()
            self._compiling = None

    def prepare(self, sample: str) -> None:
        """Choose requirements and compile the alternation; results never depend on the choice.

        A daemon's first batch may be one line: the choice is redone while the texts seen grow
        (by 4x each time) up to the sample size, so it soon rests on representative data.
        When Hyperscan covers every rule's regex there is nothing to choose for it: the ``re``
        scan (for lines that are not ASCII) is then prepared only if such a line turns up.
        """
        self._compiled()
        if self._regex_db is not None and len(self.translated) == len(self.candidates):
            self._hyperscan_ready = True
            return
        self._prepare(sample)

    def _prepare(self, sample: str) -> None:
        if self._regex is not None and (
            self._sampled >= SAMPLE or len(sample) < 4 * max(self._sampled, 1)
        ):
            return
        self._sampled = min(len(sample), SAMPLE)
        head = sample[:SAMPLE]
        freq = Counter(head)
        use_hyperscan = self.backend != "re" and hs.available()
        cost = Cost(head, freq, self.candidates, stops=not use_hyperscan)
        self.chosen = [min(c, key=cost) for c in self.candidates]
        self.tests = literal_tests(self.chosen)
        self.plain_tests = [(t, i) for t, i in self.tests if isinstance(t, str)]
        self.folded_tests = [(t, i) for t, i in self.tests if not isinstance(t, str)]
        branches: dict[str, list[tuple[str, bool]]] = {}
        by_head: dict[str, list[int]] = {}
        # Same order as ``tests``: the i-th distinct literal is tests[i].
        distinct = dict.fromkeys(lit for req in self.chosen for lit in req)
        for index, (literal, ignorecase) in enumerate(distinct):
            start = key_start(literal, ignorecase, freq)[0]
            rest = literal[start + 1 : start + KEY_LENGTH]
            first = literal[start]
            heads = case_variants(first) if ignorecase and not is_uncased(first) else first
            for head in heads:
                branches.setdefault(head, []).append((rest, ignorecase))
                by_head.setdefault(head, []).append(index)
        #: Every alternative of the scan starts with its head character, taken literally, so
        #: a scan hit at ``i`` can only be the key of the literals listed under ``text[i]``.
        self._by_head = {head: tuple(indexes) for head, indexes in by_head.items()}
        alternatives = []
        for head in sorted(branches):
            tails = branches[head]
            if any(rest == "" for rest, _ in tails):
                alternatives.append(re.escape(head))  # the head alone is already enough
                continue
            plain = [rest for rest, ic in tails if not ic]
            parts = [trie(plain)] if plain else []
            parts += [f"(?i:{re.escape(rest)})" for rest, ic in tails if ic]
            alternatives.append(re.escape(head) + "(?:" + "|".join(parts) + ")")
        # An empty alternation never matches; the scanner is only built with literals.
        self._regex = re.compile("|".join(alternatives) if alternatives else "(?!)")
        self._literal_db, self._hyperscan_ready = None, False  # never keep another choice's
        if self._use_hyperscan:
            # A match's id is the rule's index, for literals as for translated regexes.
            literals = [
                hs.literal(literal, ignorecase, index)
                for index, requirement in enumerate(self.chosen)
                if index not in self.translated
                for literal, ignorecase in requirement
            ]
            try:
                self._literal_db = hs.HyperscanScanner(literals) if literals else None
                self._hyperscan_ready = True
            except Exception as exc:  # a Hyperscan limit: the re scanner is always correct
                log.warning("Hyperscan prefilter unavailable (%s); using re", exc)

    def spans(self, text: str) -> Iterator[tuple[int, int, set[int] | None]]:
        """Each candidate line, once, in order: (start, end, rules to try or None).

        A line is ``text[start:end]``. The third item lists the indexes of the rules (in the
        order the scanner was built with) that may match the line, when the scan knows them
        all (Hyperscan reports every match); None means "run ``tests`` to find out".
        """
        self.prepare(text)
        if not self._hyperscan_ready:
            yield from self._re_spans(text, 0, len(text))
        elif text.isascii():
            yield from self._ascii_spans(text)
        else:
            yield from self._mixed_spans(text)

    def _re_spans(
        self, text: str, pos: int, endpos: int
    ) -> Iterator[tuple[int, int, set[int] | None]]:
        """Candidate lines among the whole lines of ``text[pos:endpos]``, by the re scan.

        Every key hit of a line is visited (each position where the alternation matches), and
        only the literals keyed by the hit's head character are tested on the line: the work
        per line grows with its hits, not with the number of rules.
        """
        if self._regex is None:
            self._prepare(text)
        assert self._regex is not None  # noqa: S101 - _prepare compiled it
        search = self._regex.search
        find, rfind = text.find, text.rfind
        by_head, tests = self._by_head, self.tests
        while True:
            found = search(text, pos, endpos)
            if found is None:
                return
            hit = found.start()
            start = rfind("\n", 0, hit) + 1
            end = find("\n", hit, endpos)
            if end < 0:
                end = endpos
            line = text[start:end]
            rules: set[int] = set()
            checked: set[int] = set()
            while found is not None:
                for index in by_head.get(text[found.start()], ()):
                    if index in checked:
                        continue
                    checked.add(index)
                    test, indexes = tests[index]
                    if (test in line) if isinstance(test, str) else (test(line) is not None):
                        rules.update(indexes)
                found = search(text, found.start() + 1, end)
            if rules:
                yield start, end, rules
            pos = end + 1

    def _mixed_spans(self, text: str) -> Iterator[tuple[int, int, set[int] | None]]:
        """Runs of ASCII lines go to Hyperscan, lines holding other characters to the re scan.

        One accented character must not send a whole chunk down the slower path.
        """
        segments: list[tuple[bool, int, int]] = []  # (ASCII?, start, end) of whole lines
        pos, size = 0, len(text)
        while pos <= size:
            found = _NON_ASCII.search(text, pos)
            if found is None:
                segments.append((True, pos, size))
                break
            start = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", found.start())
            end = size if end < 0 else end
            if start > pos:
                segments.append((True, pos, start - 1))
            if segments and not segments[-1][0] and segments[-1][2] + 1 == start:
                segments[-1] = (False, segments[-1][1], end)  # adjacent lines: one re pass
            else:
                segments.append((False, start, end))
            pos = end + 1
        for ascii_only, start, end in segments:
            if start >= end:
                continue  # an empty line holds no literal
            if not ascii_only:
                yield from self._re_spans(text, start, end)
                continue
            for line_start, line_end, rules in self._ascii_spans(text[start:end]):
                yield line_start + start, line_end + start, rules

    def _ascii_spans(self, text: str) -> Iterator[tuple[int, int, set[int] | None]]:
        data = text.encode("ascii")
        ends = self._regex_db.ends(data) if self._regex_db is not None else []
        if self._literal_db is not None:
            ends += self._literal_db.ends(data)
            ends.sort()
        find, rfind = text.find, text.rfind
        start = line_end = -1
        found: set[int] = set()
        # Every match is non-empty, so its last character (end - 1) lies on the matched line.
        for end_offset, rule in ends:
            hit = end_offset - 1
            if hit > line_end:  # a new line: report the previous one
                if found:
                    yield start, line_end, found
                    found = set()
                start = rfind("\n", 0, hit) + 1
                line_end = find("\n", hit)
                if line_end < 0:
                    line_end = len(text)
            found.add(rule)
        if found:
            yield start, line_end, found
