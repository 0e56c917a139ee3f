"""Hostile rules files, property-based (issue 9): whatever the bytes, ``ruleengine check`` exits 0
or 2 and, on 2, prints only ``file[:line]: message`` problems and a summary; never a traceback.

``check`` runs in-process through ``ruleengine.cli.main`` for speed (hundreds of files); a
handful of known-nasty files also go through a real subprocess, where a traceback would show.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleengine.cli import main
from tests.support.daemon import run_cli

VALID = """\
state_dir: state
defaults: {to: [room], color: gray}
destinations:
  room: {type: webhook, url: "http://127.0.0.1:9/hook", fallback: term}
  term: {type: console}
sources:
  app: {type: logfile, paths: [app.log], start_at: end}
  drops: {type: markers, directory: drops, after: archive}
rules:
  - name: failed
    source: app
    match: 'Package (?P<package>\\S+) FAILED exit=(?P<code>\\d+)'
    when: "code | int != 3010"
    message: "{{ package }} failed (exit {{ code }})"
    color: red
  - name: rebooted
    source: drops
    file: '(?P<host>[^.]+)\\.rebooted\\.json'
    message: "{{ host }} rebooted"
    to: [term]
"""

SUMMARY = re.compile(r"^\d+ problems? found$")  # `check` starts nothing: it does not say so

KEYS = [
    "state_dir", "defaults", "destinations", "sources", "rules", "type", "url", "to", "name",
    "source", "match", "file", "when", "message", "title", "color", "notify", "fallback",
    "retry", "rate", "paths", "directory", "after", "start_at", "encoding", "max_line",
    "webhook_url", "token", "room", "headers", "body", "timeout", "max_attempts", "backoff",
]  # fmt: skip
NASTY = [
    "{{", "}}", "{% for x in y %}", "{{ ''.__class__.__mro__ }}", "{{ 7*7 }}", "(?P<a>", "[",
    "(?P<x>a)(?P<x>b)", "*", "**/x", "${env:RULEENGINE_SURELY_UNSET}", "${file:/dev/zero}",
    "${file:/nonexistent/secret}", "${file:}", "$$", "${", "\x00", "\ufeff", "\u202e", "-1",
    "1e999", "nan", "0x10", "10 years", "5s", "-5s", "#zzzzzz", "random", "webhook", "console",
    "logfile", "markers", "slack", "email", "../../etc/passwd", "/", "", " ", "\t", "~",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(KEYS),
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=40,
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The valid file with a few lines deleted, duplicated, swapped or spliced with junk."""
    lines = VALID.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "splice", "indent", "swap"]))
        if action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "splice":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(NASTY)) + line[at:]
        elif action == "indent":
            lines[index] = " " * draw(st.integers(1, 5)) + lines[index]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
    return "\n".join(lines) + "\n"


def check(raw: bytes) -> tuple[int, str, str]:
    """``ruleengine check`` on ``raw`` in-process; asserts it exits 0/2 with a clean message."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rules.yaml"
        path.write_bytes(raw)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "-c", str(path)])
        stdout, stderr = out.getvalue(), err.getvalue()
        assert code in (0, 2), (code, stdout, stderr)
        if code == 0:
            assert f"{path}: OK" in stdout
            return code, stdout, stderr
        lines = stderr.splitlines()
        assert lines and SUMMARY.match(lines[-1]), stderr
        problem = re.compile(rf"^{re.escape(str(path))}(:\d+)?: \S")
        # A problem may span lines when a value holds a newline; each starts with the path.
        assert problem.match(lines[0]), stderr
        assert "Traceback" not in stderr
        return code, stdout, stderr


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


@FAST
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_arbitrary_text(text: str) -> None:
    check(text.encode("utf-8"))


@FAST
@given(documents)
def test_arbitrary_yaml_documents(document: object) -> None:
    check(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


@FAST
@given(st.dictionaries(st.sampled_from(KEYS[:5]), documents, max_size=5))
def test_arbitrary_top_level_sections(document: dict[str, object]) -> None:
    check(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


@FAST
@given(mutated())
def test_mutations_of_a_valid_file(text: str) -> None:
    check(text.encode("utf-8"))


def test_the_valid_file_is_valid() -> None:
    """Guards the mutation test: its starting point must pass, or mutations prove nothing."""
    assert check(VALID.encode())[0] == 0


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)
KNOWN_NASTY = {
    "deep-lists": ("state_dir: " + "[" * 3000 + "]" * 3000 + "\n").encode(),
    "deep-maps": ("state_dir: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n").encode(),
    "billion-laughs": BILLION_LAUGHS.encode(),
    "recursive-alias": b"a: &a [*a]\n",
    "dev-zero-secret": VALID.replace("http://127.0.0.1:9/hook", "${file:/dev/zero}").encode(),
    "utf16": VALID.encode("utf-16"),
    "nul-bytes": VALID.encode().replace(b"state", b"st\x00ate", 1),
    "tabs": VALID.replace("  ", "\t").encode(),
    "bad-regex": VALID.replace("(?P<package>", "(?P<package").encode(),
    "bad-template": VALID.replace("{{ host }} rebooted", "{{ host rebooted").encode(),
    "unsafe-yaml-tag": b"state_dir: !!python/object/apply:os.system ['echo pwned']\n",
}


@pytest.mark.parametrize("name", sorted(KNOWN_NASTY))
def test_known_nasty_files_in_process(name: str) -> None:
    code, _, stderr = check(KNOWN_NASTY[name])
    assert code == 2, stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deep-maps", "billion-laughs", "dev-zero-secret", "utf16"])
def test_known_nasty_files_through_a_real_process(name: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(KNOWN_NASTY[name])
    for verb in ("check", "run"):
        result = run_cli(verb, "-c", str(path))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"{path}:"), result.stderr
