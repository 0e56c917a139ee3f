"""``${env:NAME}`` and ``${file:PATH}`` interpolation, so secrets stay out of the rules file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruleengine.config.yamlmarks import Path_

MAX_SECRET_FILE = 64 * 1024  # a token or a password; /dev/zero or a log by mistake must not hang
_REF = re.compile(r"\$\$|\$\{(?P<kind>env|file):(?P<arg>[^}]*)\}")


def interpolate(
    data: Any,
    *,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> tuple[Any, set[str], list[tuple[Path_, str]]]:
    """Return (data with references resolved, the secret values used, problems by key path).

    ``$$`` escapes a literal ``$``. Every resolved value counts as a secret for redaction. A
    reference that does not resolve becomes ``UNRESOLVED`` (or the part of a value it was), so
    the rest still validates; the caller decides whether the problem matters (``load_config``).
    """
    env = os.environ if environ is None else environ
    secrets: set[str] = set()
    problems: list[tuple[Path_, str]] = []

    def resolve(value: str, path: Path_) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            kind, arg = match.group("kind"), match.group("arg").strip()
            if kind == "env":
                if arg not in env:
                    problems.append((path, f"environment variable {arg} is not set"))
                    return _placeholder(match, value)
                secret = env[arg]
            else:
                file = Path(arg).expanduser()
                file = file if file.is_absolute() else base_dir / file
                try:
                    secret = read_secret(file)
                except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                    reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                    problems.append((path, f"cannot read secret file {file}: {reason}"))
                    return _placeholder(match, value)
            if secret:
                secrets.add(secret)
            return secret

        return _REF.sub(one, value)

    def walk(node: Any, path: Path_) -> Any:
        if isinstance(node, str):
            return resolve(node, path) if "$" in node else node
        if isinstance(node, dict):
            return {key: walk(value, (*path, str(key))) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, (*path, index)) for index, value in enumerate(node)]
        return node

    return walk(data, ()), secrets, problems


#: What an unresolved reference stands for: valid as a URL, a token or a part of either, and
#: unroutable (``.invalid``), should anything ever try to use it.
UNRESOLVED = "https://unresolved.invalid/"


def _placeholder(match: re.Match[str], value: str) -> str:
    return UNRESOLVED if match.group(0) == value.strip() else "unresolved"


def read_secret(file: Path) -> str:
    """A secret file's text; devices, FIFOs and huge files are refused instead of read forever."""
    if file.exists() and not file.is_file():
        raise ValueError("not a regular file")
    with file.open("rb") as handle:
        raw = handle.read(MAX_SECRET_FILE + 1)
    if len(raw) > MAX_SECRET_FILE:
        raise ValueError(f"larger than {MAX_SECRET_FILE} bytes; is it really a secret?")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
