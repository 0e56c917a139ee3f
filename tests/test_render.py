"""Rendering: event values are data, the sandbox holds, errors name the rule, colours validate."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ruleengine.config.loader import load_config_text
from ruleengine.errors import ConfigError
from ruleengine.model import Notification
from ruleengine.render import render_fired
from tests.support.rulekit import line, marker, rules_yaml, ruleset


def render(rule: str, text: str = "user=bob code=1") -> list[Notification]:
    rules = ruleset(rule)
    event = line(text) if "source: log" in rule else marker(text, status="failed")
    return [n for fired in rules.fire([event]) for n in render_fired(fired)]


def test_event_values_render_literally() -> None:
    [note] = render(
        "- {name: r, source: log, match: 'user=(?P<user>.*)', message: 'hello {{ user }}'}\n",
        "user={{ 7*7 }} {% if 1 %}x{% endif %}",
    )
    assert note.text == "hello {{ 7*7 }} {% if 1 %}x{% endif %}"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ line.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ (1).__class__ }}",
        "{{ line.format.__globals__ }}",
    ],
)
def test_sandbox_blocks_attribute_tricks(template: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        [note] = render(f"- {{name: evil, source: log, match: 'user', message: \"{template}\"}}\n")
    assert note.text.startswith("could not render message of rule evil: blocked by the sandbox")
    assert "rules.yaml" not in note.text  # chat never learns where the rules file lives
    assert "user=bob code=1" in note.text  # the event itself is not lost
    assert "rule 'evil'" in caplog.text


def test_sandbox_in_when_names_rule(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        notes = render(
            "- {name: sneaky, source: log, match: 'user', message: m,"
            ' when: "line.__class__.__mro__"}\n'
        )
    assert notes == []
    assert "rule 'sneaky' (/nonexistent/rules.yaml:9): when:" in caplog.text


def test_undefined_variable_names_rule_and_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        [note] = render(
            "- {name: typo, source: log, match: 'user', message: m, title: '{{ pakage }}'}\n"
        )
    expected = "could not render title of rule typo: 'pakage' is undefined\nuser=bob code=1"
    assert note.text == expected
    assert "rule 'typo' (/nonexistent/rules.yaml:9): title" in caplog.text


def test_template_syntax_error_is_a_config_error_with_line() -> None:
    text = rules_yaml("- name: broken\n  source: log\n  message: '{{ oops'\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("/r/rules.yaml"))
    [problem] = caught.value.problems
    assert problem.startswith("/r/rules.yaml:11: rules[0].message: template syntax error")


def test_builtin_variables_filters_and_output_fields() -> None:
    [a, b] = render(
        """
        - name: r
          source: log
          match: 'code=(?P<code>\\d+)'
          message: >-
            {{ rule }} {{ source }} {{ line | truncate(9, true, '…') }} {{ 3725 | duration }}
          title: "{{ time | isotime }} {{ '/var/log/app.log' | basename }} {{ host != '' }}"
          color: "#00aa00"
          notify: true
          format: markdown
          to: [out, other]
        """
    )
    assert a.text == "r log user=bob… 1h 2m 5s"
    assert a.title == "1970-01-01T00:16:40+00:00 app.log True"
    assert (a.color, a.notify, a.format) == ("#00aa00", True, "markdown")
    assert [a.destination, b.destination] == ["out", "other"]
    assert a.id != b.id and a.fields["code"] == "1"


def test_marker_variables() -> None:
    [note] = render(
        "- {name: r, source: drops, message: '{{ stem }} {{ file }} {{ status }}'}\n",
        "web1.done.json",
    )
    assert note.text == "web1 web1.done.json failed"


@pytest.mark.parametrize(
    ("color", "expected", "warned"),
    [
        ("\"{{ 'red' if code != '0' else 'green' }}\"", "red", False),
        ("\"{{ '#ABCDEF' }}\"", "#ABCDEF", False),
        ("\"{{ 'pink' }}\"", "gray", True),
        ('"{{ nope }}"', "gray", True),
    ],
)
def test_color_templates(
    color: str, expected: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        [note] = render(
            f"- {{name: c, source: log, match: 'code=(?P<code>\\d+)', message: m,"
            f" color: {color}}}\n"
        )
    assert note.color == expected
    assert ("rule 'c'" in caplog.text) is warned


def test_invalid_plain_color_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"rules\[0\]\.color: expected one of"):
        ruleset("- {name: c, source: log, message: m, color: pink}\n")
