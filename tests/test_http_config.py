"""The http source's settings and its rules: mistakes are named at load, like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.errors import ConfigError

HEAD = """\
state_dir: state
destinations: {out: {type: console}}
sources:
  intake: {type: http, clients: {ci: {token: "0123456789abcdef"}}%s}
  drops: {type: markers, directory: drops}
rules:
"""


def problems(source: str, rule: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEAD % source + rule, Path("/x/rules.yaml"))
    return str(caught.value)


def test_an_http_source_defaults_to_loopback_and_needs_clients() -> None:
    config = load_config_text(
        HEAD % "" + "  - {name: r, source: intake, type: a.b, message: m, to: out}\n",
        Path("/x/rules.yaml"),
    )
    assert config.model.sources["intake"].address == "127.0.0.1"  # type: ignore[union-attr]
    text = HEAD.replace('clients: {ci: {token: "0123456789abcdef"}}', "port: 1")
    with pytest.raises(ConfigError, match="needs `clients`"):
        load_config_text(text % "" + "  - {name: r, source: intake, message: m, to: out}\n",
                         Path("/x/rules.yaml"))  # fmt: skip


@pytest.mark.parametrize(
    ("source", "rule", "expected"),
    [
        ("", "  - {name: r, source: intake, match: x, message: m, to: out}",
         "rules[0].match: source 'intake' is an http source: select events with `type`"),
        ("", "  - {name: r, source: intake, file: '*.json', message: m, to: out}",
         "rules[0].file: source 'intake' is an http source"),
        ("", "  - {name: r, source: drops, type: a.b, message: m, to: out}",
         "rules[0].type: source 'drops' is a markers source: select markers with `file`"),
        ("", "  - {name: r, source: intake, type: '^a(?P<x', message: m, to: out}",
         "rules[0].type: invalid file pattern"),
        (", accept_types: ['^(']", "  - {name: r, source: intake, message: m, to: out}",
         "sources.intake.accept_types: invalid pattern"),
        (", port: 70000", "  - {name: r, source: intake, message: m, to: out}",
         "sources.intake.port"),
    ],
)  # fmt: skip
def test_mistakes_are_named(source: str, rule: str, expected: str) -> None:
    assert expected in problems(source, rule + "\n")


def test_check_warns_about_a_network_address_without_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ruleengine.cli import main  # noqa: PLC0415

    rule = "  - {name: r, source: intake, type: a.b, message: m, to: out}\n"
    for address, warned in (("0.0.0.0", True), ("127.0.0.1", False), ("::1", False)):
        path = tmp_path / "rules.yaml"
        path.write_text(HEAD % f", address: '{address}'" + rule, encoding="utf-8")
        assert main(["check", "-c", str(path)]) == 0
        err = capsys.readouterr().err
        assert ("without `tls`" in err) is warned, err
        assert "0123456789abcdef" not in err


def test_check_knows_the_fields_every_http_event_carries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ruleengine.cli import main  # noqa: PLC0415

    rule = (
        "  - {name: r, source: intake, type: a.b, to: out,"
        " message: '{{ type }} {{ client }} {{ data.x }} {{ host }}'}\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD % "" + rule, encoding="utf-8")
    assert main(["check", "-c", str(path)]) == 0
    assert capsys.readouterr().err == ""
