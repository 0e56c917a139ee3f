"""Where ``ruleengine send`` sends: a destination of the rules file (``--to``), or one built
from the command line (``--type``, ``--url``, ``--set KEY=VALUE`` …) and validated by the same
``Destination`` models as the rules file, so every sender type works here too."""

from __future__ import annotations

import argparse
import os
import re
import typing
from typing import Any

import pydantic
import yaml

from ruleengine.colors import PALETTE, is_color
from ruleengine.config import load_config
from ruleengine.config.destinations import Destination
from ruleengine.redact import Redactor

# --set keys whose values are credentials (masked in every message this command prints).
_SECRET_KEY = re.compile(r"url|token|secret|pass|key|auth|header", re.IGNORECASE)


class UsageError(Exception):
    """A problem with the command line; printed and turned into exit 2."""


Target = tuple[str, Any, str, bool, list[tuple[str, Any]]]


def destination(args: argparse.Namespace, redactor: Redactor) -> Target:
    """(name, validated settings, default colour, default notify, its fallback chain as
    [(name, settings)]) from the rules file or from flags (no fallback)."""
    if args.color is not None and not is_color(args.color):
        raise UsageError(f"--color: expected one of {', '.join(PALETTE)} or #rrggbb")
    inline_only = [
        flag
        for flag, value in (
            ("--url", args.url),
            ("--room", args.room),
            ("--token", args.token),
            ("--token-env", args.token_env),
            ("--set", args.set),
        )
        if value
    ]
    if args.to and args.type:
        raise UsageError("give either --to DEST (rules file) or --type (command line), not both")
    if args.to:
        if inline_only:
            raise UsageError(f"{', '.join(inline_only)}: only with --type, not with --to")
        return _from_rules(args.to, args.config, redactor)
    if args.type:
        settings = _inline_settings(args, redactor)
        return args.type, settings, "yellow", False, []
    raise UsageError("no destination: give --to DEST (with -c rules.yaml) or --type …")


def _from_rules(name: str, path: str, redactor: Redactor) -> Target:
    # Only the secrets of the destination used must resolve; a ConfigError is reported by the
    # CLI with file:line, exit 2.
    config = load_config(path, lazy_secrets=True)
    redactor.add(*config.secrets)
    destinations = config.model.destinations
    if name not in destinations:
        raise UsageError(
            f"--to: {config.path} defines no destination {name!r}; "
            f"defined: {', '.join(destinations)}"
        )
    chain: list[tuple[str, Any]] = []
    follow = destinations[name].fallback
    while follow is not None and follow != name and all(follow != n for n, _ in chain):
        chain.append((follow, destinations[follow]))  # the loader refuses loops and unknowns
        follow = destinations[follow].fallback
    config.require([name, *(n for n, _ in chain)])
    defaults = config.model.defaults
    return name, destinations[name], defaults.color, defaults.notify, chain


def sender_types() -> dict[str, type[pydantic.BaseModel]]:
    """Every destination model of the ``Destination`` union, by its ``type`` tag."""
    union = typing.get_args(Destination)[0]
    models: dict[str, type[pydantic.BaseModel]] = {}
    for model in typing.get_args(union):
        for tag in typing.get_args(model.model_fields["type"].annotation):
            models[tag] = model
    return models


def _inline_settings(args: argparse.Namespace, redactor: Redactor) -> Any:
    """Settings dict from the generic flags, validated through the ``Destination`` union."""
    models = sender_types()
    model = models.get(args.type)
    if model is None:
        raise UsageError(f"--type: unknown sender {args.type!r}; known: {', '.join(models)}")
    token = args.token
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise UsageError(f"--token-env: ${args.token_env} is not set or empty")
    settings: dict[str, Any] = {"type": args.type}
    for kind, value in (("url", args.url), ("room", args.room), ("token", token)):
        if value:
            settings[_field_for(model, kind, args.type)] = value
    redactor.add(*(v for v in (args.url, token) if v))
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise UsageError(f"--set: expected KEY=VALUE, got {redactor(item)!r}")
        value = _parse_value(raw)
        if _SECRET_KEY.search(key):
            redactor.add(*_strings(value))
        _put(settings, key.split("."), value)
    try:
        return pydantic.TypeAdapter(Destination).validate_python(settings)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            if loc and loc[0] == args.type:  # the union's tag, not a settings key
                loc = loc[1:]
            problems.append(f"{'.'.join(loc) or args.type}: {error['msg']}")
        raise UsageError(f"invalid {args.type} destination: {'; '.join(problems)}") from None


# What the generic flags are called in the services' own vocabulary, most specific first.
_SYNONYMS = {
    "url": ("webhook_url", "homeserver", "server_url", "site"),
    "room": ("room_id", "channel", "stream", "topic"),
    "token": ("access_token", "api_token", "api_key"),
}


def _field_for(model: type[pydantic.BaseModel], kind: str, type_name: str) -> str:
    """The model's field a generic flag fills: ``url`` itself, a known synonym
    (``webhook_url``, ``homeserver``…), else the one ``*_url`` / ``url_*`` field."""
    fields = list(model.model_fields)
    if kind in fields:
        return kind
    for synonym in _SYNONYMS.get(kind, ()):
        if synonym in fields:
            return synonym
    candidates = [f for f in fields if f.endswith(f"_{kind}") or f.startswith(f"{kind}_")]
    if len(candidates) == 1:
        return candidates[0]
    settable = ", ".join(f for f in fields if f != "type")
    raise UsageError(
        f"--{kind}: a {type_name} destination has no {kind} setting; use --set KEY=VALUE "
        f"(its settings: {settable})"
    )


def _parse_value(raw: str) -> Any:
    """Strings stay strings (pydantic converts "5" or "true" where a field wants it);
    ``[..]``/``{..}`` are parsed as YAML for list and mapping settings."""
    if raw[:1] in "[{":
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"--set: cannot parse {raw[:20]!r}… as YAML") from None
    return raw


def _put(settings: dict[str, Any], keys: list[str], value: Any) -> None:
    node = settings
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise UsageError(f"--set: {'.'.join(keys)} conflicts with an earlier value")
        node = child
    node[keys[-1]] = value


def _strings(value: Any) -> list[str]:
    """Every string inside a setting; for "Bearer <token>" also the token on its own."""
    if isinstance(value, str):
        return [value, *(word for word in value.split() if len(word) >= 8)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
