"""Validating a rules file's destinations and sources entry by entry, each with its type's model.

The rules file's model names every destination and source type in a discriminated union (the
JSON Schema shows them all). Validating against the union would make pydantic build every
member's validator, 16 destination types and 4 source types, on every start-up, though a rules
file uses two or three. Models are built on first use (``Strict``'s ``defer_build``), so here
each entry goes to the model its ``type`` names; an entry without a known type goes to the
whole union, whose errors ("unknown type …, expected one of …") the loader already words.
Errors come back as pydantic's, with locations from the rules file's root.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

import pydantic
from pydantic_core import ErrorDetails

from ruleengine.config.destinations import Destination
from ruleengine.config.schema import RulesFile
from ruleengine.config.sources import Source

UNIONS: dict[str, Any] = {"destinations": Destination, "sources": Source}


def members(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """{type tag: model} of a discriminated ``Annotated[A | B, Field(discriminator="type")]``."""
    found = typing.get_args(typing.get_args(union)[0]) or (typing.get_args(union)[0],)
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in found}


TYPES = {section: members(union) for section, union in UNIONS.items()}


class _Rest(RulesFile):
    """The rules file with its destinations and sources left as they are (checked per entry)."""

    destinations: dict[str, Any] = pydantic.Field(min_length=1)
    sources: dict[str, Any] = pydantic.Field(min_length=1)


@cache
def _union(section: str) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(UNIONS[section])


def validate(data: dict[str, Any]) -> tuple[RulesFile | None, list[ErrorDetails]]:
    """The rules file's model, or None; and every error, located from the file's root."""
    errors: list[ErrorDetails] = []
    try:
        rest = _Rest.model_validate(data)
    except pydantic.ValidationError as exc:
        rest = None
        errors += exc.errors(include_url=False)
    entries: dict[str, dict[str, Any]] = {}
    for section in UNIONS:
        given = data.get(section)
        if not isinstance(given, dict):
            continue  # reported above (missing, or not a mapping)
        entries[section] = {}
        for name, entry in given.items():
            kind = entry.get("type") if isinstance(entry, dict) else None
            model = TYPES[section].get(kind) if isinstance(kind, str) else None
            try:
                if model is not None:
                    entries[section][name] = model.model_validate(entry)
                else:
                    entries[section][name] = _union(section).validate_python(entry)
            except pydantic.ValidationError as exc:
                for error in exc.errors(include_url=False):
                    error["loc"] = (section, name, *error["loc"])
                    errors.append(error)
    if rest is None or errors:
        return None, errors
    values = {field: getattr(rest, field) for field in RulesFile.model_fields}
    values.update(entries)
    return RulesFile.model_construct(rest.model_fields_set, **values), errors
