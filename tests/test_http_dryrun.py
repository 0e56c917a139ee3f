"""``ruleengine test --event``: a posted body through the rules, as the intake would take it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ruleengine.cli import main
from tests.support.intakekit import rules_file


def test_json_and_cloudevents_bodies_are_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = str(rules_file(tmp_path))
    body = {"type": "update.failed", "host": "a", "severity": "high", "kb": "KB9"}
    assert main(["test", "-c", rules, "--event", json.dumps(body)]) == 0
    out = capsys.readouterr().out
    assert "rule 'update' fires" in out and "update failed on a: KB9" in out
    cloud = tmp_path / "event.json"
    cloud.write_text(json.dumps([{"specversion": "1.0", "id": "1", "source": "/p",
                                  "type": "com.example.x", "subject": "s",
                                  "data": {"text_field": "t"}}]))  # fmt: skip
    assert main(["test", "-c", rules, "--event", f"@{cloud}"]) == 0
    assert "/p says s: t" in capsys.readouterr().out


def test_a_body_the_intake_would_refuse_is_exit_2_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = str(rules_file(tmp_path))
    assert main(["test", "-c", rules, "--event", '{"host": "a"}']) == 2
    assert "would refuse it (422)" in capsys.readouterr().err
    assert main(["test", "-c", rules, "--event", "{nope"]) == 2
    assert "(400)" in capsys.readouterr().err


def test_the_dry_run_applies_the_sources_limits_and_accepted_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the intake refuses by the source's own settings, the dry run refuses too."""
    rules = str(rules_file(tmp_path, "accept_types: ['update.*']\nmax_fields: 3\n"))
    known = {"type": "update.failed", "host": "a", "kb": "KB9"}
    assert main(["test", "-c", rules, "--event", json.dumps(known)]) == 0
    capsys.readouterr()
    unknown = {"type": "reboot", "host": "a"}
    assert main(["test", "-c", rules, "--event", json.dumps(unknown)]) == 2
    assert "(422): event 0: type 'reboot' is not accepted here" in capsys.readouterr().err
    wide = {**known, "severity": "high", "extra": 1}
    assert main(["test", "-c", rules, "--event", json.dumps(wide)]) == 2
    assert "would refuse it (422)" in capsys.readouterr().err
