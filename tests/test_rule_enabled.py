"""``enabled: false`` switches a rule off: checked by `check`, skipped by `run`/`test`, shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleengine import api
from ruleengine.cli import main
from ruleengine.state import Store
from tests.support.rulekit import rules_yaml

RULES = """\
- {name: quiet, enabled: false, source: log, match: 'disk', message: 'quiet {{ line }}'}
- {name: loud, source: log, match: 'disk', message: 'loud {{ line }}'}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(rules_yaml(RULES), encoding="utf-8")
    return path


def test_a_disabled_rule_never_fires(rules: Path) -> None:
    loaded = api.load(rules)
    assert [o.notification.text for o in api.evaluate_line(loaded, "disk full", "log")] == [
        "loud disk full"
    ]
    assert loaded.rules.disabled == ("quiet",)


def test_check_reports_it_and_still_checks_it(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-c", str(rules)]) == 0
    assert "disabled: quiet" in capsys.readouterr().out
    rules.write_text(rules_yaml(RULES.replace("'quiet {{ line }}'", "'{{ nope }}'")))
    assert main(["check", "-c", str(rules)]) == 2  # switched off, but still valid or not
    assert "'nope' is undefined in rule 'quiet'" in capsys.readouterr().err


def test_test_and_status_show_it(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "-c", str(rules), "--line", "disk full"]) == 0
    assert "quiet disk full" not in capsys.readouterr().out
    Store(rules.parent / "state").close()
    assert main(["status", "-c", str(rules)]) == 0
    assert "disabled rules (enabled: false): quiet" in capsys.readouterr().out
