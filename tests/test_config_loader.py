"""The rules file loader: every mistake is reported with file:line and key path, all at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.config import load_config
from ruleengine.errors import ConfigError
from tests.support.daemon import command, run_cli

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
state_dir: state
defaults: {to: [term]}
destinations:
  term: {type: console}
sources:
  app: {type: logfile, paths: [app.log]}
rules:
  - name: r
    source: app
    match: 'x(?P<n>\\d+)'
    message: "n={{ n }}"
"""


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return caught.value.problems


def test_example_rules_file_is_valid() -> None:
    config = load_config(ROOT / "rules.example.yaml", environ={})
    assert config.state_dir == ROOT / "demo" / "state"
    assert set(config.model.destinations) == {"terminal"}


def test_relative_paths_are_relative_to_the_rules_file(write_rules) -> None:  # type: ignore[no-untyped-def]
    path = write_rules(GOOD)
    config = load_config(path, environ={})
    assert config.state_dir == path.parent / "state"
    assert config.resolve("app.log") == path.parent / "app.log"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("defaults: {to: [term]}", "defaults: {to: [term], colour: red}"),
            ":2: defaults.colour: unknown key 'colour' (did you mean 'color'?)",
        ),
        (
            ("{type: console}", "{type: consol}"),
            ":4: destinations.term: unknown type 'consol' (expected one of: console, webhook",
        ),
        (("{type: console}", "{}"), ":4: destinations.term: missing 'type'"),
        (("[app.log]}", "[app.log], start_at: middle}"), ":6: sources.app.start_at:"),
        (("paths: [app.log]", "paths: []"), ":6: sources.app.paths:"),
        (
            ("    source: app", "    source: ap"),
            ":9: rules[0].source: undefined source 'ap'; did you mean 'app'?",
        ),
        (("'x(?P<n>\\d+)'", "'x(?P<n'"), ":10: rules[0].match: invalid regular expression"),
        (('"n={{ n }}"', '"n={{ n }"'), ":11: rules[0].message: template syntax error"),
        (
            ("    message:", "    to: nowhere\n    message:"),
            ":11: rules[0].to: undefined destination 'nowhere'",
        ),
        (("    message:", "    color: pink\n    message:"), ":11: rules[0].color: expected one of"),
        (
            ("    message:", "    when: 'n =='\n    message:"),
            ":11: rules[0].when: expression syntax error",
        ),
        (
            ("    message:", "    file: '*.json'\n    message:"),
            ":11: rules[0].file: source 'app' is a logfile source",
        ),
        (
            ("  - name: r\n", "  - name: r\n    name: s\n"),
            ":9: rules[0].name: duplicate key 'name'",
        ),
        (("state_dir: state\n", ""), ":1: state_dir: required key is missing"),
    ],
)
def test_each_mistake_names_line_key_and_expectation(
    write_rules,
    change: tuple[str, str],
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    old, new = change
    assert old in GOOD, old
    path = write_rules(GOOD.replace(old, new, 1))
    problems = problems_of(path)
    assert any(p.startswith(str(path)) and expected in p for p in problems), problems


def test_all_problems_are_reported_together(write_rules) -> None:  # type: ignore[no-untyped-def]
    text = (
        GOOD.replace("{type: console}", "{type: console, bogus: 1}")
        .replace("source: app", "source: nope")
        .replace('"n={{ n }}"', '"{{"')
    )
    problems = problems_of(write_rules(text))
    assert len(problems) == 3
    assert [int(p.split(":")[1]) for p in problems] == sorted(
        int(p.split(":")[1]) for p in problems
    )


def test_yaml_syntax_error_has_a_line(write_rules) -> None:  # type: ignore[no-untyped-def]
    path = write_rules("state_dir: x\nrules: [\n  - a: b\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:") and "YAML syntax error" in problem


def test_not_a_mapping(write_rules) -> None:  # type: ignore[no-untyped-def]
    (problem,) = problems_of(write_rules("- just\n- a list\n"))
    assert ":1: expected a mapping" in problem


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "absent.yaml")
    assert "cannot read rules file" in problem
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    (problem,) = problems_of(binary)
    assert "not UTF-8" in problem


def test_env_and_file_secrets_are_interpolated_and_remembered(
    write_rules,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "token").write_text("s3cr3t-from-file\n", encoding="utf-8")
    text = GOOD.replace(
        "  term: {type: console}",
        "  term: {type: console}\n"
        "  hook:\n"
        "    type: webhook\n"
        '    url: "https://hooks.example.com/${env:HOOK_PATH}"\n'
        '    headers: {Authorization: "Bearer ${file:token}", X-Cost: "$$5"}',
    )
    config = load_config(write_rules(text), environ={"HOOK_PATH": "T000/B000/XYZ"})
    hook = config.model.destinations["hook"]
    assert hook.type == "webhook"
    assert hook.url == "https://hooks.example.com/T000/B000/XYZ"
    assert hook.headers == {"Authorization": "Bearer s3cr3t-from-file", "X-Cost": "$5"}
    assert config.secrets == {"T000/B000/XYZ", "s3cr3t-from-file"}


def test_missing_secret_is_one_clear_problem(write_rules) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace(
        "  term: {type: console}",
        '  term: {type: console}\n  hook: {type: webhook, url: "${env:NO_SUCH_VAR}"}',
    )
    problems = problems_of(write_rules(text))
    assert len(problems) == 1
    assert ":5: destinations.hook.url: environment variable NO_SUCH_VAR is not set" in problems[0]


def test_check_command_exit_codes(write_rules, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    good = write_rules(GOOD)
    assert main(["check", "-c", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = write_rules(GOOD.replace("source: app", "source: nope"), name="bad.yaml")
    assert main(["check", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:9: rules[0].source: undefined source 'nope'" in err
    assert "1 problem found" in err


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01",
        "rules: {{{",
        "state_dir: [1, 2]\nrules: 7\n",
        "a: &x [*x]\n",
        "destinations: {a: {type: webhook, url: 5, retry: {max_age: -3}}}\n",
    ],
)
def test_no_traceback_for_any_broken_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    done = run_cli("check", "-c", str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr


def test_alias_bomb_is_refused_quickly(write_rules) -> None:  # type: ignore[no-untyped-def]
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (problem,) = problems_of(write_rules("\n".join(lines) + "\n"))
    assert "alias expansion" in problem


def test_output_into_a_closed_pipe_is_not_a_traceback() -> None:
    """``ruleengine schema | head -1``: the reader goes away early."""
    proc = subprocess.Popen(
        command("schema"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like head exiting after its first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(30)
    assert "Traceback" not in err
