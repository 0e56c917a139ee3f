"""The colour palette inherited from Send-Hipchat, and its mapping to RGB. Pure functions."""

from __future__ import annotations

import re

# Named colours of the original tool, with the hex each sender uses where a service wants RGB.
PALETTE: dict[str, str] = {
    "yellow": "#e8b600",
    "green": "#2eb886",
    "red": "#d00000",
    "purple": "#8e44ad",
    "gray": "#9e9e9e",
    "random": "",  # resolved per notification, see to_hex
}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_RANDOM_CHOICES = ("yellow", "green", "red", "purple", "gray")


def is_color(value: str) -> bool:
    """True for a palette name or ``#rrggbb``."""
    return value in PALETTE or bool(_HEX.match(value))


def to_hex(color: str, seed: str = "") -> str:
    """``#rrggbb`` for a palette name or hex; ``random`` picks a stable colour from ``seed``."""
    if color == "random":
        color = _RANDOM_CHOICES[sum(seed.encode()) % len(_RANDOM_CHOICES)]
    if color in PALETTE:
        return PALETTE[color]
    if _HEX.match(color):
        return color.lower()
    return PALETTE["gray"]


def to_rgb(color: str, seed: str = "") -> tuple[int, int, int]:
    value = to_hex(color, seed)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
