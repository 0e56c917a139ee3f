"""What every benchmark returns: figures with their target and a reference."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class Figure:
    workload: str
    metric: str
    value: float
    unit: str
    target: str
    ok: bool | None
    reference: str = ""


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
