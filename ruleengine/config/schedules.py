"""Named time windows (``schedules:``) and a rule's ``schedule``: validated here, compiled by
``rules.schedule``."""

import zoneinfo
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ruleengine.config.types import Strict
from ruleengine.rules.schedule import Window, parse_days, parse_hours


class Schedule(Strict):
    """A weekly time window in one time zone."""

    days: str | list[str] = Field("daily", description="mon-fri, sat,sun, [mon, wed] or daily.")
    hours: str | list[str] = Field(
        "00:00-24:00", description='"08:00-18:00"; "22:00-02:00" runs past midnight; or a list.'
    )
    tz: str = Field(description="IANA time zone, e.g. Europe/Berlin (DST handled).")

    @field_validator("days")
    @classmethod
    def _days(cls, value: str | list[str]) -> str | list[str]:
        parse_days(value)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | list[str]) -> str | list[str]:
        parse_hours(value)
        return value

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (IANA names, e.g. Europe/Berlin)"
            ) from None
        return value

    def window(self) -> Window:
        return Window(parse_days(self.days), parse_hours(self.hours), zoneinfo.ZoneInfo(self.tz))


class RuleSchedule(Strict):
    """Restrict a rule or destination to a schedule (``only``) or mute it during one."""

    only: str | None = Field(None, description="Send only inside this schedule.")
    mute: str | None = Field(None, description="Do not send inside this schedule.")
    otherwise: Literal["drop", "hold", "quiet"] = Field(
        "hold",
        description="Outside the allowed time: drop (counted), hold (one digest when it "
        "opens), quiet (deliver without notify).",
    )

    @model_validator(mode="after")
    def _one(self) -> "RuleSchedule":
        if (self.only is None) == (self.mute is None):
            raise ValueError("give exactly one of `only` or `mute`")
        return self


def schedule_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """A rule's or destination's ``schedule`` must name a schedule of the file."""
    found = data.get("schedules")
    known: dict[str, Any] = found if isinstance(found, dict) else {}
    listed = data.get("rules")
    rules: list[Any] = listed if isinstance(listed, list) else []
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, rule in enumerate(rules):
        spec = rule.get("schedule") if isinstance(rule, dict) else None
        for key in ("only", "mute"):
            name = spec.get(key) if isinstance(spec, dict) else None
            if isinstance(name, str) and name not in known:
                where: tuple[str | int, ...] = ("rules", index, "schedule", key)
                problems.append((where, f"no schedule named {name!r} in `schedules`"))
    found = data.get("destinations")
    destinations: dict[str, Any] = found if isinstance(found, dict) else {}
    for dest, settings in destinations.items():
        spec = settings.get("schedule") if isinstance(settings, dict) else None
        for key in ("only", "mute"):
            name = spec.get(key) if isinstance(spec, dict) else None
            if isinstance(name, str) and name not in known:
                where = ("destinations", dest, "schedule", key)
                problems.append((where, f"no schedule named {name!r} in `schedules`"))
    return problems
