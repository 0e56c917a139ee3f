"""The logfile source's settings: valid forms load, bad ones get file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.config import load_config
from ruleengine.errors import ConfigError

RULES = """\
state_dir: state
destinations:
  sink: {{ type: console }}
sources:
  app:
    type: logfile
    paths: [logs/*.log]
{extra}
rules:
  - name: r
    source: app
    message: "{{{{ line }}}}"
    to: [sink]
"""


def test_full_settings_load(write_rules) -> None:
    extra = (
        "    start_at: beginning\n    encoding: latin-1\n    max_line: 4096\n    poll: 2s\n"
        "    multiline: { start: '^\\d{4}-', timeout: 500ms }"
    )
    config = load_config(write_rules(RULES.format(extra=extra)))
    source = config.model.sources["app"]
    assert source.type == "logfile"
    assert (source.poll, source.max_line, source.start_at) == (2.0, 4096, "beginning")
    assert source.multiline is not None and source.multiline.timeout == 0.5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    poll: 10ms", "sources.app.poll: poll interval must be at least 100ms"),
        ("    encoding: klingon", "sources.app.encoding: unknown encoding 'klingon'"),
        ("    multiline: { start: '(' }", "sources.app.multiline.start: invalid regular"),
        ("    multiline: { start: x, timeout: 0 }", "multiline.timeout: the multiline timeout"),
        ("    multiline: { start: x, flush: 1s }", "sources.app.multiline.flush"),
        ("    start_at: middle", "sources.app.start_at"),
    ],
)
def test_bad_settings_name_file_line_and_key(write_rules, extra: str, message: str) -> None:
    path: Path = write_rules(RULES.format(extra=extra))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith(f"{path}:8: ") and message in p for p in caught.value.problems), (
        caught.value.problems
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/var/log/old", ["/var/log/old"]),
        ("[old, '/var/log/old/app.log*']", ["old", "/var/log/old/app.log*"]),
    ],
)
def test_rotated_takes_one_place_or_a_list(write_rules, value: str, expected: list[str]) -> None:
    config = load_config(write_rules(RULES.format(extra=f"    rotated: {value}")))
    source = config.model.sources["app"]
    assert source.type == "logfile" and source.rotated == expected


def test_rotated_must_name_places(write_rules) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_rules(RULES.format(extra="    rotated: 7")))
    assert "rotated" in str(caught.value)
