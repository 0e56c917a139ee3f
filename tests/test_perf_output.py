"""The replay's shortcuts in the output stage must not change what is produced or reported.

Plain-text templates skip Jinja (their text is rendered once, by Jinja, at compile time), and a
``--json`` replay counts notifications without building them but still renders every template,
so template errors are reported exactly as before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.render import check_fired, render_fired
from tests.support.rulekit import line, rules_yaml, ruleset


@pytest.mark.parametrize(
    ("message", "constant"),
    [
        ("rule fired", "rule fired"),
        ("two\nlines\n", "two\nlines"),  # Jinja drops one trailing newline
        ("{% raw %}{{ x }}{% endraw %}", "{{ x }}"),
        ("", ""),
        ("{{ user }} failed", None),
        ("{# note #}text", "text"),  # comments leave plain text
        ("{% if true %}x{% endif %}", None),
    ],
)
def test_constant_templates_detected(message: str, constant: str | None) -> None:
    quoted = json.dumps(message)
    rules = ruleset(
        f"- {{name: r, source: log, match: 'u=(?P<user>\\w+)', message: {quoted}, title: t}}\n"
    )
    output = rules.rules[0].output
    assert output.message_text == constant
    assert output.title_text == "t"


def test_constant_and_jinja_paths_render_the_same() -> None:
    rules = ruleset(
        """
        - {name: plain, source: log, match: 'u=(?P<user>\\w+)', message: "rule fired", title: t}
        - {name: tmpl, source: log, match: 'u=(?P<user>\\w+)', message: "{{ 'rule fired' }}",
           title: "{{ 't' }}"}
        """
    )
    plain, tmpl = rules.fire([line("u=bob")])
    assert plain.rule.output.message_text is not None and tmpl.rule.output.message_text is None
    a, b = render_fired(plain), render_fired(tmpl)
    assert [(n.text, n.title, {**n.fields, "rule": ""}) for n in a] == [
        (n.text, n.title, {**n.fields, "rule": ""}) for n in b
    ]
    assert check_fired(plain) == len(a) == 1


def test_check_fired_logs_template_errors_like_render_fired(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = ruleset(
        "- {name: bad, source: log, match: 'x', message: '{{ missing }}', color: '{{ 1/0 }}'}\n"
    )
    (fired,) = rules.fire([line("x")])
    with caplog.at_level(logging.WARNING):
        render_fired(fired)
    rendered = [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert check_fired(fired) == 1
    assert [r.getMessage() for r in caplog.records] == rendered
    assert any("missing" in message for message in rendered)


def test_json_replay_reports_template_errors_for_every_match(
    write_rules: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_rules(
        rules_yaml(
            # Fails only at run time (`check` rejects undefined names at load now).
            "- {name: bad, source: log, match: 'x=(?P<v>\\d)',"
            " message: '{{ v }} {{ 1 // (v | int - v | int) }}'}\n",
            state=str(tmp_path / "s"),
        )
    )
    log = tmp_path / "app.log"
    log.write_text("".join(f"x={i % 10}\n" for i in range(12)), encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert main(["test", "-c", str(config), "--file", str(log), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["sources"]["log"]
    assert summary["rules"] == {"bad": 12} and summary["notifications"] == 12
    assert sum("ZeroDivisionError" in r.getMessage() for r in caplog.records) == 12
