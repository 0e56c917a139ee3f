"""Shipped examples: every rules file passes ``check``; every sample marker gives its message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ruleengine.cli import main
from ruleengine.config import load_config
from ruleengine.config.schema import Rule
from ruleengine.render import evaluate
from ruleengine.rules.compiler import compile_rules
from ruleengine.sources.markers.event import marker_event
from tests.support.payloads import ps51_out_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NEEDS_DIGEST = {"windows-update-digest.yaml"}
HAS_DIGEST = "digest" in Rule.model_fields


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_passes_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    if name in NEEDS_DIGEST and not HAS_DIGEST:
        pytest.skip("needs `digest:` in rules (Rule has no digest field yet; built in parallel)")
    assert main(["check", "-c", str(EXAMPLES / name)]) == 0, capsys.readouterr().err


def messages(example: str, files: dict[str, bytes]) -> list[tuple[str, str, str]]:
    """(rule, colour, text) of every notification the sample markers produce, as the daemon
    would build them (same event construction as the markers source)."""
    config = load_config(EXAMPLES / example)
    model = config.model
    rules = compile_rules(model.rules, model.defaults)
    (source,) = model.sources
    out = []
    for name, raw in sorted(files.items()):
        path = Path("/drop") / name
        info = os.stat_result((0o100644, 1, 1, 1, 0, 0, len(raw), 0, 0, 0))
        event = marker_event(source, name, path, raw, info)
        out += [(n.rule, n.color, " ".join(n.text.split())) for n in evaluate(rules, event)]
    return out


def samples(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (EXAMPLES / "samples" / folder).iterdir()}


def test_windows_update_samples() -> None:
    files = samples("windows-update")
    files["SRV-03.20240101T020000Z-88.installed.json"] = b'{"updates": ["KB1"]}'  # emit's name
    assert messages("windows-update.yaml", files) == [
        (
            "updates-installed",
            "yellow",
            "SRV-01: 2 updates installed (KB5034441, KB5034122); reboot required",
        ),
        ("server-rebooted", "purple", "SRV-01 rebooted (up 00:02:10)"),
        ("server-rebooted", "purple", "SRV-02 rebooted"),
        ("updates-installed", "yellow", "SRV-03: 1 update installed (KB1)"),
    ]


def test_software_install_samples_including_powershell_51_out_file() -> None:
    files = samples("software-install")
    files["SRV-03.install-failed.kv"] = ps51_out_file("package=Chrome\nversion=126\ncode=1618")
    assert messages("software-install.yaml", files) == [
        ("install-scheduled", "yellow", "7zip 23.01 scheduled on SRV-01 for Sat 02:00"),
        ("install-succeeded", "green", "7zip 23.01 installed on SRV-01 (reboot required)"),
        ("install-failed", "red", "Office 2021 FAILED on SRV-02 (exit 1603)"),
        ("install-failed", "red", "Chrome 126 FAILED on SRV-03 (exit 1618)"),
    ]


def test_svmotion_samples() -> None:
    assert messages("svmotion.yaml", samples("svmotion")) == [
        (
            "svmotion-failed",
            "red",
            "app-01: storage vMotion to ds-sata-3 FAILED: Insufficient disk space on datastore",
        ),
        ("svmotion-done", "green", "db-01: storage vMotion to ds-nvme-1 finished"),
        ("svmotion-progress", "gray", "web-01: storage vMotion ds-ssd-1 → ds-ssd-2 at 42%"),
    ]
