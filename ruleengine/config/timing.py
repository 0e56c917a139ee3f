"""Rule options that work with time: thresholds (``count``), absence (``expect``) and resolved
notices (``resolves``)."""

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from ruleengine.config.types import Duration, Strict, check_template


class Count(Strict):
    """Fire once a key has seen ``min`` matching events within ``within`` (fail2ban-style)."""

    min: Annotated[int, Field(ge=1, description="How many events within the window fire.")]
    within: Duration = Field(description="The window the events must fall in (10m).")
    by: str = Field(
        "",
        description='Template of the key counted apart, e.g. "{{ ip }}"; empty = the whole rule. '
        "The message gets `count`, `first`, `last` and `events`.",
    )

    _templates = field_validator("by")(check_template)

    @field_validator("within")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("within must be longer than 0s")
        return value


DEFAULT_BACK = "{{ key }} is back after {{ missing_for | duration }} missing"


class Expect(Strict):
    """Expect matching events: fire when a key sends none for ``every`` + ``grace``."""

    every: Duration = Field(description="How often each key must report (24h).")
    grace: Duration = Field(0.0, description="Extra time before the alert (30m).")
    by: str = Field(
        "",
        description='Template of the key, e.g. "{{ host }}"; keys are learned from events. '
        "The message gets `key`, `last_seen`, `seen`, `overdue`, `late` and `down_since`.",
    )
    keys: list[str] = Field(
        default_factory=list, description="Keys expected from the start, seen or not."
    )
    back: str = Field(
        DEFAULT_BACK,
        description="Template of the notice when a missing key reports again (green); gets "
        "`key` and `missing_for` besides the event's fields.",
    )

    _templates = field_validator("by", "back")(check_template)

    @field_validator("every")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("every must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _keys_need_by(self) -> "Expect":
        if self.keys and not self.by:
            raise ValueError("`keys` needs `by`: the template that gives each event its key")
        return self


class Resolves(Strict):
    """This rule sends a resolved notice when its event closes an open alert of ``rule``."""

    rule: str = Field(description="The rule whose alerts this one resolves.")
    key: str = Field(
        description="Template pairing an alert with its recovery, evaluated on both events, "
        'e.g. "{{ package }}@{{ host }}". The message gets `alert` (the alert\'s variables), '
        "`opened` and `open_for`."
    )
    expire: Duration = Field(7 * 86400.0, description="Forget an alert open this long (7d).")

    _templates = field_validator("key")(check_template)


def resolve_problems(rules: list[Any], names: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """``resolves.rule`` must name another rule of the file."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, rule in enumerate(rules):
        target = rule.get("resolves") if isinstance(rule, dict) else None
        name = target.get("rule") if isinstance(target, dict) else None
        if isinstance(name, str) and (name not in names or name == rule.get("name")):
            problems.append((("rules", index, "resolves", "rule"), f"no other rule named {name!r}"))
    return problems


#: Template variables each time-aware option adds (``rules.actions``, ``rules.heartbeats``).
COUNT_NAMES = ("count", "first", "last", "events")
EXPECT_NAMES = ("key", "last_seen", "seen", "overdue", "every", "grace", "late", "down_since")
RESOLVES_NAMES = ("alert", "opened", "open_for")


def supplied_names(rule: Any) -> list[str]:
    """The variables ``rule``'s ``count``, ``expect`` and ``resolves`` give its templates."""
    names: list[str] = []
    if getattr(rule, "count", None) is not None:
        names += COUNT_NAMES
    if getattr(rule, "expect", None) is not None:
        names += EXPECT_NAMES
    if getattr(rule, "resolves", None) is not None:
        names += RESOLVES_NAMES
    return names
