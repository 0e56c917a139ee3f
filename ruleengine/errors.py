"""The small exception tree: everything a user can cause derives from RuleEngineError."""

from __future__ import annotations


class RuleEngineError(Exception):
    """Base of every error ruleengine reports to a user (never shown as a traceback)."""


class ConfigError(RuleEngineError):
    """The rules file is invalid; carries every problem found, each with file:line and key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RenderError(RuleEngineError):
    """A template failed to render for a given event (names the rule).

    ``what`` (the template's key) and ``reason`` say it without the rule's file:line, for text
    that leaves the host (a chat message must not show where the rules file lives).
    """

    def __init__(self, message: str, what: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.what = what or "template"
        self.reason = reason or message


class DeliveryError(RuleEngineError):
    """A destination could not be reached or refused a notification."""


class StateError(RuleEngineError):
    """The state database cannot be opened or written."""


class ExitNow(BaseException):
    """Leave the process at once with ``code``, without waiting for threads still in a send.

    Raised by the ``run`` command (a second SIGTERM, or a stop that left a send in flight);
    only the CLI entry point turns it into ``os._exit``, so embedders decide for themselves.
    """

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(code)
