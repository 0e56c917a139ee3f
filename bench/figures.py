"""What every benchmark returns: figures with their target and a reference."""

from __future__ import annotations

import compileall
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ruleengine import __file__ as package_init


@dataclass
class Figure:
    workload: str
    metric: str
    value: float
    unit: str
    target: str
    ok: bool | None
    reference: str = ""


def compile_bytecode() -> None:
    """Compile ruleengine and its dependencies to bytecode before anything is timed.

    An installed ruleengine starts from bytecode: pip compiles a wheel at install, and Python
    caches what it imports. Where ``PYTHONDONTWRITEBYTECODE`` is set (containers, this CI)
    nothing is cached, and every timed start would compile ~150 modules again (~0.5 s of a
    2 s catch-up): the figures would measure the compiler, not ruleengine.
    """
    for path in {Path(package_init).parent, Path(sysconfig.get_paths()["purelib"])}:
        compileall.compile_dir(path, quiet=1)


def ruleengine(*args: str) -> list[str]:
    return [sys.executable, "-m", "ruleengine", *args]


def print_table(figures: list[Figure]) -> None:
    print(
        f"\n{'workload':<26} {'metric':<22} {'value':>14} {'unit':<12} {'target':<14} "
        f"{'ok':<4} reference"
    )
    for f in figures:
        mark = "yes" if f.ok else ("no" if f.ok is not None else "")
        print(
            f"{f.workload:<26} {f.metric:<22} {f.value:>14,.2f} {f.unit:<12} {f.target:<14} "
            f"{mark:<4} {f.reference}"
        )
