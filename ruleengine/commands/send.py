"""``ruleengine send``: one message now, straight through the sender; the successor of the 2016
``Send-Hipchat -message -color -notify -apitoken -room -retry -retrysecs``.

Exit 0 delivered, 1 not delivered (after the retries), 2 usage error. The destination comes
from the rules file (``--to``) or entirely from the command line (``--type`` …), validated by
the same ``Destination`` models as the rules file, so every sender type works here too.
No daemon and no state directory are involved; the retry rules are the dispatcher's.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import typing
from typing import Any

import pydantic
import yaml

from ruleengine.colors import PALETTE, is_color
from ruleengine.commands.options import add_config_option
from ruleengine.config.destinations import Destination, RetryPolicy
from ruleengine.config.types import parse_duration
from ruleengine.dispatch import next_delay
from ruleengine.model import Delivered, Notification, Outcome, Permanent, Retry, stable_id
from ruleengine.redact import Redactor
from ruleengine.senders import Sender, SenderContext, make_sender

NAME = "send"
HELP = "send one message now (exit 0 delivered, 1 not delivered, 2 usage error)"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# --set keys whose values are credentials (masked in every message this command prints).
_SECRET_KEY = re.compile(r"url|token|secret|pass|key|auth|header", re.IGNORECASE)


class UsageError(Exception):
    """A problem with the command line; printed and turned into exit 2."""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("expected a whole number of retries, 0 or more")
    return int(text)


_EXAMPLES = """\
examples:
  ruleengine send -c /etc/ruleengine/rules.yaml --to ops-room -m "Backup done" --color green
  ruleengine send --type webhook --url "$HOOK_URL" -m - < report.txt
  ruleengine send --type hipchat --url https://hipchat.example.com --room 1234 \\
      --token-env HIPCHAT_TOKEN -m "Updates installed" --color purple --notify \\
      --retry 3 --retry-secs 10
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter

    message = parser.add_argument_group("message")
    message.add_argument("-m", "--message", required=True, help="the text; - reads stdin")
    message.add_argument("--title", help="title, where the service shows one")
    message.add_argument("--color", help=f"{', '.join(PALETTE)} or #rrggbb")
    message.add_argument("--notify", action="store_true", help="ping the room (service-specific)")

    named = parser.add_argument_group("destination from a rules file")
    named.add_argument("--to", metavar="DEST", help="a destination defined in the rules file")
    add_config_option(parser)

    inline = parser.add_argument_group("destination on the command line (no rules file)")
    inline.add_argument("--type", help="sender type, e.g. webhook, slack, hipchat, console")
    inline.add_argument("--url", help="the service or webhook URL")
    inline.add_argument("--room", help="room / channel, for services that have one")
    inline.add_argument("--token", help="API token (visible in `ps`: prefer --token-env)")
    inline.add_argument("--token-env", metavar="VAR", help="read the API token from $VAR")
    inline.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other setting of the type (repeatable; dotted keys nest, e.g. "
        "headers.Authorization=…; [..] or {..} values are parsed as YAML)",
    )

    retry = parser.add_argument_group("retries")
    retry.add_argument("--retry", type=_count, default=0, metavar="N", help="extra attempts")
    retry.add_argument(
        "--retry-secs",
        type=_duration,
        default=5.0,
        metavar="S",
        help="base delay, doubled per attempt with full jitter (default %(default)ss)",
    )
    retry.add_argument(
        "--max-wait",
        type=_duration,
        default=60.0,
        metavar="S",
        help="longest single wait, also for a service's Retry-After (default %(default)ss)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    redactor = Redactor()
    try:
        text = _message_text(args.message)
        name, settings, color, notify = _destination(args, redactor)
    except UsageError as exc:
        print(f"ruleengine send: {redactor(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    notification = Notification(
        id=stable_id("send", name, text, time.time_ns(), os.getpid()),
        destination=name,
        rule="send",
        source="cli",
        text=text,
        title=args.title,
        color=args.color or color,
        notify=args.notify or notify,
        created=time.time(),
    )
    try:
        sender = make_sender(settings, SenderContext(name=name, redactor=redactor))
    except Exception as exc:  # a sender that cannot even start: report, never a traceback
        print(f"ruleengine send: cannot set up {name}: {redactor(str(exc))}", file=sys.stderr)
        return EXIT_FAIL
    try:
        return _deliver(sender, notification, args, redactor)
    finally:
        sender.close()


def _deliver(
    sender: Sender, notification: Notification, args: argparse.Namespace, redactor: Redactor
) -> int:
    """Attempt up to 1 + ``--retry`` times with the dispatcher's backoff rules."""
    policy = RetryPolicy(
        backoff=args.retry_secs, backoff_max=args.max_wait, retry_after_max=args.max_wait
    )
    rng = random.Random()  # noqa: S311 - jitter, not cryptography
    name, attempts = notification.destination, args.retry + 1
    for attempt in range(attempts):
        outcome = _attempt(sender, notification)
        if isinstance(outcome, Delivered):
            return EXIT_OK
        reason = redactor(outcome.reason)
        if isinstance(outcome, Permanent):
            return _fail(f"not delivered to {name}: {reason}")
        if attempt + 1 == attempts:
            tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
            return _fail(f"not delivered to {name} after {tries}: {reason}")
        if outcome.after is not None and outcome.after > args.max_wait:
            # Retrying before the service allows it would only be refused again.
            return _fail(
                f"not delivered to {name}: {reason}; the service asked to wait "
                f"{outcome.after:.0f}s, more than --max-wait {args.max_wait:g}s"
            )
        delay = next_delay(outcome, attempt, policy, rng.random)
        if not args.quiet:
            print(
                f"ruleengine send: attempt {attempt + 1} of {attempts} failed ({reason}); "
                f"retrying in {delay:.1f}s",
                file=sys.stderr,
            )
        time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def _attempt(sender: Sender, notification: Notification) -> Outcome:
    try:
        return sender.send(notification)
    except Exception as exc:  # a sender bug counts as a transient failure, as in the daemon
        return Retry(f"sender error: {type(exc).__name__}: {exc}")


def _fail(message: str) -> int:
    print(f"ruleengine send: {message}", file=sys.stderr)
    return EXIT_FAIL


def _message_text(value: str) -> str:
    text = sys.stdin.read() if value == "-" else value
    text = text.rstrip("\r\n")
    if not text.strip():
        raise UsageError("the message is empty")
    return text


def _destination(args: argparse.Namespace, redactor: Redactor) -> tuple[str, Any, str, bool]:
    """(name, validated settings, default colour, default notify) from the rules file or flags."""
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
        return args.type, settings, "yellow", False
    raise UsageError("no destination: give --to DEST (with -c rules.yaml) or --type …")


def _from_rules(name: str, path: str, redactor: Redactor) -> tuple[str, Any, str, bool]:
    from ruleengine.config import load_config  # noqa: PLC0415 - only this path needs YAML+Jinja

    config = load_config(path)  # a ConfigError is reported by the CLI with file:line, exit 2
    redactor.add(*config.secrets)
    destinations = config.model.destinations
    if name not in destinations:
        raise UsageError(
            f"--to: {config.path} defines no destination {name!r}; "
            f"defined: {', '.join(destinations)}"
        )
    defaults = config.model.defaults
    return name, destinations[name], defaults.color, defaults.notify


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
