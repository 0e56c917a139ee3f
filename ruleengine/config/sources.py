"""Source settings: one model per source type, joined in the ``Source`` union."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from ruleengine.config.types import Strict


class LogfileSource(Strict):
    """Tail log files; each complete line is one event."""

    type: Literal["logfile"]
    paths: Annotated[list[str], Field(min_length=1)]
    start_at: Literal["end", "beginning"] = "end"
    encoding: str = "utf-8"
    max_line: int = Field(65536, ge=256, description="Longer lines are truncated (bytes).")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs  # noqa: PLC0415 - only needed here

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value


class MarkersSource(Strict):
    """Watch a directory; each marker file dropped into it is one event."""

    type: Literal["markers"]
    directory: str
    after: Literal["delete", "archive", "keep"] = "archive"
    max_size: int = Field(1024 * 1024, ge=1, description="Larger markers go to failed/.")


Source = Annotated[LogfileSource | MarkersSource, Field(discriminator="type")]
