"""What the command line imports: a command its own module, ``--version`` none of them (the
whole rules stack costs ~0.25 s of start-up that a version check should not pay)."""

from __future__ import annotations

import subprocess
import sys

from ruleengine import __version__
from ruleengine.commands import COMMANDS

_PROBE = """
import sys
from ruleengine.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert exit.code == 0, exit.code
wanted = ("ruleengine.commands.", "ruleengine.config")
loaded = sorted(m for m in sys.modules if m.startswith(wanted))
print("loaded:", *loaded)
"""


def _loaded(*argv: str) -> tuple[list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True
    )
    *printed, loaded = done.stdout.splitlines()
    return printed, loaded.split()[1:]


COMMAND_MODULES = {f"ruleengine.commands.{module}" for module in COMMANDS.values()}


def test_version_imports_no_command_and_no_rules_stack() -> None:
    printed, loaded = _loaded("--version")
    assert printed == [f"ruleengine {__version__}"]
    assert not COMMAND_MODULES & set(loaded)
    assert not [m for m in loaded if m.startswith("ruleengine.config")]


def test_a_command_imports_its_own_module_only() -> None:
    _printed, loaded = _loaded("schema")
    assert COMMAND_MODULES & set(loaded) == {"ruleengine.commands.schema"}
