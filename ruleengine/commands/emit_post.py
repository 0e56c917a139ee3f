"""``ruleengine emit --url``: post one event to an http source instead of writing a marker.

The request carries an ``Idempotency-Key`` made once per run, so ``--retry`` after a timeout or
a 5xx never stores the event twice. Exit 0 once the intake answered 202 (the event is
durable there), 1 when it refused or could not be reached, 2 for a usage mistake.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from ruleengine.config.interpolate import read_secret
from ruleengine.redact import Redactor

PATH = "/v1/events"


def post_event(
    url: str,
    token_file: Path | None,
    event: dict[str, Any],
    *,
    retry: int,
    retry_secs: float,
    timeout: float,
) -> int:
    """Post ``event``; print the intake's answer; the exit code as the module says."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    secrets: set[str] = set()
    if token_file is not None:
        try:
            token = read_secret(token_file)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            print(
                f"ruleengine emit: cannot read token file {token_file}: {reason}", file=sys.stderr
            )
            return 2
        headers["Authorization"] = f"Bearer {token}"
        secrets.add(token)
    redact = Redactor(secrets)
    target = url.rstrip("/") + ("" if url.rstrip("/").endswith(PATH) else PATH)
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    for attempt in range(retry + 1):
        if attempt:
            time.sleep(retry_secs)
        try:
            answer = requests.post(target, data=body, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            why = f"cannot reach {target}: {type(exc).__name__}"
        else:
            if answer.status_code == 202:
                print(answer.text.strip())
                return 0
            why = f"{target} answered {answer.status_code}: {redact(answer.text[:500].strip())}"
            if answer.status_code < 500 and answer.status_code not in (408, 429):
                print(f"ruleengine emit: {why}", file=sys.stderr)
                return 1  # refused for good: retrying would not help
        print(f"ruleengine emit: {why}", file=sys.stderr)
    return 1
