"""Compiling ``schedule`` options of rules and destinations (named windows → ``ScheduleSpec``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jinja2

from ruleengine.config.schedules import RuleSchedule, Schedule
from ruleengine.config.schema import DEFAULT_DIGEST
from ruleengine.rules.compiled import CompiledRule, DigestSpec, ScheduleSpec


def scheduled(
    compiled: CompiledRule,
    spec: RuleSchedule | None,
    schedules: Mapping[str, Schedule],
    env: jinja2.Environment,
) -> CompiledRule:
    """The rule with its schedule; held notifications use its digest template, or the default."""
    if spec is None:
        return compiled
    digest = compiled.digest
    hold = DigestSpec(
        by=(),
        wait=0.0,
        max=1_000_000,
        message=digest.message if digest is not None else env.from_string(DEFAULT_DIGEST),
        title=digest.title if digest is not None else None,
    )
    return dataclasses.replace(compiled, schedule=_spec(spec, schedules, hold, compiled.label))


def destination_gates(
    destinations: Mapping[str, Any], schedules: Mapping[str, Schedule], env: jinja2.Environment
) -> dict[str, ScheduleSpec]:
    """The schedule of every destination that has one."""
    hold = DigestSpec(by=(), wait=0.0, max=1_000_000, message=env.from_string(""), title=None)
    gates: dict[str, ScheduleSpec] = {}
    for name, settings in destinations.items():
        spec = getattr(settings, "schedule", None)
        if isinstance(spec, RuleSchedule):
            gates[name] = _spec(spec, schedules, hold, f"destination {name!r}")
    return gates


def _spec(
    spec: RuleSchedule, schedules: Mapping[str, Schedule], hold: DigestSpec, label: str
) -> ScheduleSpec:
    name = spec.only or spec.mute or ""
    if name not in schedules:  # the loader reports it with file:line; this is for direct callers
        raise ValueError(f"{label}: no schedule named {name!r}")
    window = schedules[name].window()
    return ScheduleSpec(window, spec.mute is not None, spec.otherwise, hold, name)
