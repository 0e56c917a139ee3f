"""`check` compiles templates exactly as `run` does: what run cannot compile, check rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.config.loader import load_config, load_config_text
from ruleengine.errors import ConfigError
from ruleengine.pipeline.reload import plan_reload
from ruleengine.rules.compiler import compile_model
from tests.support.rulekit import rules_yaml


def write(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(rules_yaml(rules), encoding="utf-8")
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "-c", str(path)])
    return code, capsys.readouterr().err


LOG_RULE = "- name: ssh\n  source: log\n  match: 'for (?P<user>\\S+)'\n  message: {message}\n"


def test_unknown_filter_fails_check_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LOG_RULE.format(message="'{{ user | nosuchfilter }}'"))
    code, err = check(path, capsys)
    assert code == 2
    assert f"{path}:12: rules[0].message: template error: No filter named 'nosuchfilter'" in err
    assert "Traceback" not in err


def test_unknown_test_in_title_fails_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = LOG_RULE.format(message="m") + "  title: '{% if user is nosuchtest %}x{% endif %}'\n"
    code, err = check(write(tmp_path, rule), capsys)
    assert code == 2
    assert "rules[0].title: template error: No test named 'nosuchtest'" in err


def test_undefined_name_in_log_rule_fails_check_with_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, LOG_RULE.format(message="'{{ usr }} failed'"))
    code, err = check(path, capsys)
    assert code == 2
    assert f"{path}:12: rules[0].message: 'usr' is undefined in rule 'ssh'" in err
    assert "did you mean 'user'?" in err


def test_builtin_fields_and_groups_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = "'{{ user }} {{ host }} {{ line }} {{ path }} {{ offset }} {% set x = 1 %}{{ x }}'"
    code, err = check(write(tmp_path, LOG_RULE.format(message=message)), capsys)
    assert (code, err) == (0, "")


def test_marker_payload_names_are_a_warning_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = "- {name: m, source: drops, file: '*.json', message: '{{ stem }} {{ reason }}'}\n"
    code, err = check(write(tmp_path, rule), capsys)
    assert code == 0
    assert "rules[0].message: warning: 'reason' in rule 'm'" in err
    assert "'stem'" not in err


def test_digest_names_are_the_digests_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = LOG_RULE.format(message="m") + (
        "  digest: {wait: 1m, by: [user], message: '{{ count }} {{ user }} {{ events | length }}"
        " {{ nope }}'}\n"
    )
    code, err = check(write(tmp_path, rule), capsys)
    assert code == 2
    assert "rules[0].digest: 'nope' is undefined" in err
    assert "'count'" not in err


def test_reload_rejects_with_file_and_line(tmp_path: Path) -> None:
    good = load_config_text(rules_yaml(LOG_RULE.format(message="ok")), tmp_path / "rules.yaml")
    bad = load_config(write(tmp_path, LOG_RULE.format(message="'{{ user | nosuch }}'")))
    with pytest.raises(ConfigError) as caught:
        plan_reload(good, bad)
    assert caught.value.problems[0].startswith(f"{tmp_path / 'rules.yaml'}:12: rules[0].message")


def test_run_compile_and_check_agree(tmp_path: Path) -> None:
    """The daemon compiles through compile_model too: same rejection, same text."""
    with pytest.raises(ConfigError, match="No filter named 'nosuch'"):
        compile_model(
            load_config(write(tmp_path, LOG_RULE.format(message="'{{ 1 | nosuch }}'"))).model
        )


def test_names_a_template_guards_itself_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`x | default(…)` and `x is defined` cannot fail at run time: no error, no warning."""
    message = "'{{ usr | default(\"?\") }}{% if extra is defined %}{{ extra }}{% endif %}'"
    code, err = check(write(tmp_path, LOG_RULE.format(message=message)), capsys)
    assert (code, err) == (0, "")
