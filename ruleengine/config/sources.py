"""Source settings: one model per source type, joined in the ``Source`` union."""

import codecs
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from ruleengine.config.types import Duration, Secret, Strict, check_regex
from ruleengine.rules.patterns import name_pattern


class Multiline(Strict):
    """Group continuation lines (stack traces, indented detail) under the line that starts them."""

    start: str = Field(description="Regex matching the first line of each event.")
    timeout: Duration = Field(
        2.0, description="Flush an open event after this long without a new line."
    )

    _regex = field_validator("start")(check_regex)

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("the multiline timeout must be longer than 0s")
        return value


def _one_or_more(value: object) -> object:
    """``rotated: /var/log/old`` is ``rotated: [/var/log/old]``."""
    return [value] if isinstance(value, str) else value


class Timestamp(Strict):
    """Where a line says when it was written: ``test --file`` replays throttle windows and
    digest waits by it (the daemon uses the time a line arrives)."""

    match: str = Field(
        description="Regex finding the time in a line: its group `time`, else its first group."
    )
    format: str = Field(
        "%Y-%m-%dT%H:%M:%S",
        description="strptime format of that text (local time unless it has %z), or `epoch`.",
    )

    _regex = field_validator("match")(check_regex)


class LogfileSource(Strict):
    """Tail log files; each complete line (or multi-line group) is one event."""

    type: Literal["logfile"]
    paths: Annotated[
        list[str],
        Field(
            min_length=1,
            description="Files and globs; files appearing later under a glob are picked up.",
        ),
    ]
    start_at: Literal["end", "beginning"] = Field(
        "end", description="Where a file never seen before starts when the daemon starts."
    )
    encoding: str = Field("utf-8", description="Text encoding; a UTF-8/UTF-16 BOM overrides it.")
    max_line: int = Field(65536, ge=256, description="Longer lines are truncated (bytes).")
    poll: Duration | None = Field(
        None,
        description="Poll at this interval instead of inotify (NFS/SMB mounts), e.g. 2s.",
    )
    rotated: Annotated[
        list[str],
        BeforeValidator(_one_or_more),
        WithJsonSchema(
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        ),
    ] = Field(
        default_factory=list,
        description=(
            "Where rotated generations go besides the log's own directory: logrotate's olddir,"
            " or a glob such as /var/log/old/app.log*. Searched after a rotation the daemon"
            " did not see in time, plain or compressed (.gz, .bz2, .xz)."
        ),
    )
    multiline: Multiline | None = None
    timestamp: Timestamp | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("poll")
    @classmethod
    def _poll_interval(cls, value: float | None) -> float | None:
        if value is not None and value < 0.1:
            raise ValueError("poll interval must be at least 100ms")
        return value


class MarkersSource(Strict):
    """Watch a directory; each marker file dropped into it is one event (see markers.py)."""

    type: Literal["markers"]
    directory: str
    recursive: bool = Field(False, description="Also watch subdirectories.")
    patterns: list[str] = Field(
        default_factory=list,
        description="Only names matching one of these (globs, or regexes as in a rule's "
        "`file`) are markers; other files are left alone. Empty: every file.",
    )
    format: Literal["auto", "json", "yaml", "kv", "text"] = Field(
        "auto", description="Payload format; auto: by extension, then by content."
    )
    after: Literal["delete", "archive", "keep"] = Field(
        "archive", description="What to do with a marker once its notifications are queued."
    )
    unmatched: Literal["keep", "archive", "delete"] = Field(
        "keep", description="What to do with a marker no rule selected (keep warns once)."
    )
    archive_dir: str | None = Field(
        None,
        description="Where processed/ and failed/ live; default: inside the drop directory. "
        "Either way ruleengine uses them only if they are real directories it owns that no "
        "one else may write.",
    )
    poll: Duration | None = Field(
        None,
        gt=0,
        description="Poll every this often instead of using OS notifications "
        "(needed for SMB/NFS shares written by other hosts).",
    )
    settle: Duration = Field(
        2.0,
        description="A file nobody said was closed is read only after its size and mtime "
        "were stable this long.",
    )
    follow_symlinks: bool = Field(False, description="Read symlinked markers (else failed/).")
    report_failed: bool = Field(
        False,
        description="Emit an event for each bad marker (file: <name>.failed, fields reason, "
        "marker) so a rule can notify about it.",
    )
    max_size: int = Field(1024 * 1024, ge=1, description="Larger markers go to failed/.")

    @field_validator("patterns")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:

        for pattern in value:
            try:
                name_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None
        return value


class HttpClient(Strict):
    """One client of an http source: its bearer token (use ``${file:…}`` or ``${env:…}``)."""

    token: Secret = Field(min_length=16, description="Bearer token, at least 16 characters.")


class HttpTls(Strict):
    """Serve HTTPS; with ``client_ca``, also require a client certificate signed by it."""

    cert: str = Field(description="PEM certificate (chain) file.")
    key: str = Field(description="PEM private key file.")
    client_ca: str | None = Field(
        None, description="PEM CA file client certificates must chain to."
    )


class HttpSource(Strict):
    """Accept events posted as JSON or CloudEvents to ``/v1/events`` (see sources/http)."""

    type: Literal["http"]
    address: str = Field("127.0.0.1", description="Address to listen on: loopback by default.")
    port: int = Field(8470, ge=0, le=65535, description="TCP port (0: any free port, logged).")
    clients: dict[str, HttpClient] = Field(
        default_factory=dict,
        description="Client name → token; the name becomes each event's `client` field.",
    )
    anonymous: bool = Field(
        False, description="Accept requests without a token (client anonymous)."
    )
    tls: HttpTls | None = None
    accept_types: list[str] = Field(
        default_factory=list,
        description="Strict mode: the only event types accepted (globs, or regexes as in a "
        "rule's `type`); a request with any other type is refused with 422 and nothing of it "
        "is stored. Empty (the default): every type is accepted.",
    )
    max_body: int = Field(1024 * 1024, ge=1024, description="Largest request body (bytes).")
    max_events: int = Field(1000, ge=1, description="Most events in one request.")
    max_fields: int = Field(
        100, ge=1, description="Most keys and list items in one event, counted at every depth."
    )
    max_depth: int = Field(8, ge=1, le=64, description="Deepest nesting of objects and lists.")
    rate: float = Field(50.0, gt=0, description="Requests per second allowed per client.")
    burst: int = Field(100, ge=1, description="Requests a client may send at once above rate.")
    idempotency_window: Duration = Field(
        86400.0, description="How long an Idempotency-Key (or CloudEvents id) is remembered."
    )
    ack_timeout: Duration = Field(
        10.0, gt=0, description="Answer 503 when events are not durable within this long."
    )
    threads: int = Field(
        32, ge=1, le=512, description="Requests handled at once; more wait their turn."
    )

    @field_validator("accept_types")
    @classmethod
    def _valid_types(cls, value: list[str]) -> list[str]:
        return _check_patterns(value)

    @model_validator(mode="after")
    def _someone_may_post(self) -> "HttpSource":
        if not self.clients and not self.anonymous:
            raise ValueError("an http source needs `clients` (bearer tokens) or `anonymous: true`")
        return self


def _check_patterns(value: list[str]) -> list[str]:
    for pattern in value:
        try:
            name_pattern(pattern)
        except re.error as exc:
            raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None
    return value


PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_FIELD_NAME = re.compile(r"[A-Z0-9_]+")


class JournalSource(Strict):
    """Read the systemd journal; each entry is one event and its MESSAGE is what rules match."""

    type: Literal["journal"]
    directory: str | None = Field(
        None,
        description="Read the journal files in this directory (a container's or a remote "
        "host's journal) instead of the local journal; it may appear after the start.",
    )
    files: list[str] = Field(
        default_factory=list,
        description="Read these journal files instead of the local journal; reading starts "
        "once they all exist.",
    )
    units: list[str] = Field(
        default_factory=list, description="Only these systemd units (as `journalctl -u`)."
    )
    identifiers: list[str] = Field(
        default_factory=list,
        description="Only these syslog identifiers (as `journalctl -t`), e.g. sshd.",
    )
    priority: int | str | None = Field(
        None,
        description="Only entries at this priority or more urgent: 0-7 or emerg, alert, crit, "
        "err, warning, notice, info, debug.",
    )
    matches: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="FIELD: value (or a list: any of) that entries must have, e.g. "
        "{_TRANSPORT: kernel}; several fields must all match.",
    )
    start_at: Literal["end", "beginning"] = Field(
        "end", description="Where the first start begins; later starts resume after the cursor."
    )
    max_line: int = Field(
        65536, ge=256, description="Longer field values (and binary ones) are truncated (bytes)."
    )

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: int | str | None) -> int | None:
        if value is None:
            return None
        if isinstance(value, str):
            if value not in PRIORITIES:
                raise ValueError(f"priority must be 0-7 or one of {', '.join(PRIORITIES)}")
            return PRIORITIES.index(value)
        if not 0 <= value <= 7:
            raise ValueError(f"priority must be 0-7 or one of {', '.join(PRIORITIES)}")
        return value

    @field_validator("matches")
    @classmethod
    def _fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for name, wanted in value.items():
            if not _FIELD_NAME.fullmatch(name) or name.startswith("__"):
                raise ValueError(
                    f"{name!r} is not a journal field name (upper-case letters, digits and _)"
                )
            if isinstance(wanted, list) and not wanted:
                raise ValueError(f"{name}: give at least one value")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> "JournalSource":
        if self.directory is not None and self.files:
            raise ValueError("give `directory` or `files`, not both")
        return self


Source = Annotated[
    LogfileSource | MarkersSource | JournalSource | HttpSource, Field(discriminator="type")
]
