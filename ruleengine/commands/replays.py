"""What ``test --file`` and ``test --journal`` share: how many examples they print, and the
summary they end with."""

from __future__ import annotations

import json
from typing import Any

SHOW = 5  # notifications printed per rule during a replay


def print_summary(summary: dict[str, Any], unit: str, as_json: bool) -> None:
    """Per source: ``unit`` ("lines", "entries") read, matches per rule (with what a throttle or
    digest held back, where simulated), and the rate."""
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    for source, result in summary["sources"].items():
        print(f"source {source}: {result[unit]} {unit} in {result['seconds']:.3f}s")
        for name, count in result["rules"].items():
            detail = ""
            if "would_send" in result:
                held = [
                    f"{result[key][name]} {key}"
                    for key in ("suppressed", "digested")
                    if result[key][name]
                ]
                extra = f", {', '.join(held)}" if held else ""
                detail = f" (would send {result['would_send'][name]}{extra})"
            print(f"  {count:>10}  {name}{detail}")
        print(f"  {result[f'{unit}_per_second']:,} {unit}/s; nothing was sent")
