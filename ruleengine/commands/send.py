"""``ruleengine send``: one message now, straight through the sender; the successor of the 2016
``Send-Hipchat -message -color -notify -apitoken -room -retry -retrysecs``.

Exit 0 delivered, 3 delivered only by a fallback, 1 not delivered (after the retries), 2 usage
error. The destination comes from the rules file (``--to``: its ``retry:`` and ``fallback:``
chain apply, as in the daemon) or entirely from the command line (``--type`` …), validated by
the same ``Destination`` models as the rules file, so every sender type works here too.
No daemon and no state directory are involved; the retry rules are the dispatcher's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

from ruleengine.colors import PALETTE
from ruleengine.commands.options import add_config_option
from ruleengine.commands.send_target import UsageError, destination
from ruleengine.config.destinations import RetryPolicy
from ruleengine.config.types import parse_duration
from ruleengine.dispatch.policy import budget_exhausted, fallback_notice, next_delay
from ruleengine.model import Delivered, Notification, Outcome, Permanent, Retry, stable_id
from ruleengine.redact import Redactor
from ruleengine.senders import Sender, SenderContext, make_sender

HELP = "send one message now (exit 0 delivered, 3 only by a fallback, 1 not delivered, 2 usage)"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_FALLBACK = 0, 1, 2, 3


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
    message.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text (default) is shown as written, no mention or link is live; markdown is "
        "rendered where the service can",
    )

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
    retry.add_argument(
        "--retry",
        type=_count,
        metavar="N",
        help="extra attempts (default: with --to, the destination's retry:; else 0)",
    )
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
    retry.add_argument(
        "--max-time",
        type=_duration,
        default=120.0,
        metavar="S",
        help="with --to: stop retrying a destination after this long, even when its retry:"
        " allows more (default %(default)ss)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    redactor = Redactor()
    try:
        text = _message_text(args.message)
        name, settings, color, notify, fallbacks = destination(args, redactor)
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
        format=args.format,
        created=time.time(),
    )
    reason = _send_to(name, settings, notification, args, redactor, from_rules=bool(args.to))
    if reason is None:
        return EXIT_OK
    failed = name
    for fallback, fallback_settings in fallbacks:
        # The daemon's notice: what failed, why, and the original text (dispatch.policy).
        notice = fallback_notice(notification, failed, fallback, reason)
        if not args.quiet:
            print(f"ruleengine send: trying fallback {fallback}", file=sys.stderr)
        reason = _send_to(fallback, fallback_settings, notice, args, redactor, from_rules=True)
        if reason is None:
            print(f"ruleengine send: delivered by fallback {fallback} only", file=sys.stderr)
            return EXIT_FALLBACK
        failed = fallback
    return EXIT_FAIL


def _send_to(
    name: str,
    settings: Any,
    notification: Notification,
    args: argparse.Namespace,
    redactor: Redactor,
    *,
    from_rules: bool,
) -> str | None:
    """Deliver to one destination; None when delivered, else why not (already printed)."""
    try:
        sender = make_sender(settings, SenderContext(name=name, redactor=redactor))
    except Exception as exc:  # a sender that cannot even start: report, never a traceback
        reason = f"cannot set up {name}: {redactor(str(exc))}"
        _fail(reason)
        return reason
    try:
        return _deliver(sender, notification, _policy(settings, args, from_rules), args, redactor)
    finally:
        sender.close()


def _policy(settings: Any, args: argparse.Namespace, from_rules: bool) -> RetryPolicy:
    """``--retry``/``--retry-secs`` when given or for --type; else the destination's own
    ``retry:``, as the daemon applies it, bounded by ``--max-time`` and ``--max-wait``."""
    if args.retry is not None or not from_rules:
        return RetryPolicy(
            max_attempts=(args.retry or 0) + 1,
            backoff=args.retry_secs,
            backoff_max=args.max_wait,
            retry_after_max=args.max_wait,
        )
    own: RetryPolicy = settings.retry
    return own.model_copy(
        update={
            "max_age": min(own.max_age, args.max_time),
            "backoff_max": min(own.backoff_max, args.max_wait),
            "retry_after_max": min(own.retry_after_max, args.max_wait),
        }
    )


def _deliver(
    sender: Sender,
    notification: Notification,
    policy: RetryPolicy,
    args: argparse.Namespace,
    redactor: Redactor,
) -> str | None:
    """Attempt until delivered or ``policy`` is spent (the dispatcher's budget and backoff)."""
    rng = random.Random()  # noqa: S311 - jitter, not cryptography
    name, started, attempt = notification.destination, time.time(), 0
    limit = f" of {policy.max_attempts}" if policy.max_attempts else ""
    while True:
        outcome = _attempt(sender, notification)
        attempt += 1
        if isinstance(outcome, Delivered):
            return None
        reason = redactor(outcome.reason)
        if isinstance(outcome, Permanent):
            return _failed(f"not delivered to {name}: {reason}", reason)
        delay = next_delay(outcome, attempt - 1, policy, rng.random)
        if budget_exhausted(attempt, started - delay, policy, time.time()):
            tries = f"{attempt} attempts" if attempt > 1 else "1 attempt"
            return _failed(f"not delivered to {name} after {tries}: {reason}", reason)
        if outcome.after is not None and outcome.after > policy.retry_after_max:
            # Retrying before the service allows it would only be refused again.
            return _failed(
                f"not delivered to {name}: {reason}; the service asked to wait "
                f"{outcome.after:.0f}s, more than --max-wait {args.max_wait:g}s",
                reason,
            )
        if not args.quiet:
            print(
                f"ruleengine send: attempt {attempt}{limit} failed ({reason}); "
                f"retrying in {delay:.1f}s",
                file=sys.stderr,
            )
        time.sleep(delay)


def _failed(message: str, reason: str) -> str:
    _fail(message)
    return reason


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
