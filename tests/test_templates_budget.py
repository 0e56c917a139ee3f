"""Render budgets (issue 14): a rule template cannot stall the daemon or fill its memory by
accident. An over-budget render becomes an error notification naming the rule (not the rules
file's path, no traceback); the other rules carry on; ``check`` warns about constant parts that
are over the budget already.

Each over-budget template here would allocate gigabytes or loop for minutes without the
budget: a failure shows as a MemoryError or a timeout, not as a wrong assertion.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ruleengine.config.lint import lint
from ruleengine.config.loader import load_config_text
from ruleengine.model import Notification
from ruleengine.render import render_fired
from ruleengine.sandbox import MAX_OUTPUT, OUTPUT_CUT, over_budget
from tests.support.rulekit import line, rules_yaml, ruleset

NESTED = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
OVER = [
    "{{ 'a' * 10**9 }}",
    "{{ 10**9 * 'a' }}",
    "{{ ['a'] * 10**9 }}",
    "{{ 2 ** 100000000 }}",
    NESTED,
    "{{ range(10**9) | list | length }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'a' | center(999999999) }}",
    "{{ 'a'.ljust(999999999) }}",
    "{{ ('a' * 900000) | replace('a', 'bb') }}",
    "{{ range(5000) | join('x' * 1000) }}",
    "{% set a = 'a' * 900000 %}{{ a + a }}",
]


def render(rules: str, text: str = "user=bob") -> list[Notification]:
    return [n for fired in ruleset(rules).fire([line(text)]) for n in render_fired(fired)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("template", OVER)
def test_an_over_budget_render_is_an_error_notification(
    template: str, caplog: pytest.LogCaptureFixture
) -> None:
    rules = (
        f"- {{name: big, source: log, match: 'user', message: \"{template}\"}}\n"
        "- {name: fine, source: log, match: 'user=(?P<who>\\w+)', message: 'hi {{ who }}'}\n"
    )
    with caplog.at_level(logging.ERROR):
        big, fine = render(rules)
    assert big.text.startswith("could not render message of rule big: over the render budget: "), (
        big.text
    )
    assert big.text.endswith("\nuser=bob")  # the event itself is not lost
    assert len(big.text) < 300
    assert "rules.yaml" not in big.text and "Traceback" not in big.text
    assert fine.text == "hi bob"  # the other rules carry on
    assert "rule 'big' (/nonexistent/rules.yaml:9): message: over the render budget" in caplog.text


def test_ordinary_templates_stay_within_the_budget() -> None:
    template = (
        "{{ '-' * 40 }} {% for i in range(10) %}{{ i }}{% endfor %} {{ 2 ** 64 }}"
        " {{ '%5d' % 3 }} {{ '{:>6}'.format('x') }} {{ 'a' | center(9) }}"
        " {{ range(3) | join(', ') }} {{ 'ab' | replace('a', 'c') }} {{ 'x' * MAX }}"
    ).replace("MAX", str(MAX_OUTPUT - 200))
    (note,) = render(f'- {{name: ok, source: log, match: "user", message: "{template}"}}\n')
    assert note.text.startswith("-" * 40 + " 0123456789 18446744073709551616     3      x")
    assert "0, 1, 2 cb" in note.text


def test_output_past_the_budget_is_cut_not_generated() -> None:
    template = "{% for i in range(9000) %}{{ 'x' * 900 }}{% endfor %}"  # 8.1 M characters
    (note,) = render(f'- {{name: long, source: log, match: "user", message: "{template}"}}\n')
    assert note.text == "x" * MAX_OUTPUT + OUTPUT_CUT


def test_an_over_budget_when_does_not_fire(caplog: pytest.LogCaptureFixture) -> None:
    rules = (
        "- {name: greedy, source: log, match: 'user', message: m,"
        " when: \"('a' * 10**9) | length > 0\"}\n"
        "- {name: fine, source: log, match: 'user', message: still here}\n"
    )
    with caplog.at_level(logging.ERROR):
        (note,) = render(rules)
    assert note.text == "still here"
    assert "rule 'greedy' (/nonexistent/rules.yaml:9): when: over the render budget" in caplog.text


@pytest.mark.parametrize(
    ("source", "expression", "over"),
    [
        ("{{ 'a' * 10**9 }}", False, True),
        ("('a' * 10**9) | length > 0", True, True),
        (NESTED, False, True),
        ("{{ 2 ** 100000000 }}", False, True),
        ("{{ text * 10**9 }}", False, False),  # not constant: only the render can tell
        ("{{ '-' * 40 }} {{ range(10) | join }}", False, False),
        ("{{ oops", False, False),  # a syntax error is reported elsewhere
    ],
)  # fmt: skip
def test_check_flags_constant_parts_over_the_budget(
    source: str, expression: bool, over: bool
) -> None:
    assert (over_budget(source, expression) is not None) is over


def test_lint_names_the_rule_and_key() -> None:
    text = rules_yaml(
        "- {name: big, source: log, match: 'user', message: \"{{ 'a' * 10**9 }}\"}\n"
        "- {name: ok, source: log, match: 'user', message: fine}\n"
    )
    config = load_config_text(text, Path("/nonexistent/rules.yaml"))
    warnings = lint(config.model)
    assert len(warnings) == 1
    path, message = warnings[0]
    assert path == ("rules", 0, "message")
    assert "rule 'big': message is over the render budget (repetition of" in message
