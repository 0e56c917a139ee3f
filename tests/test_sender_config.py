"""What `ruleengine check` says about the sender destinations: valid files load, mistakes
are reported with file:line, key path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ruleengine.config import load_config
from ruleengine.errors import ConfigError
from ruleengine.redact import Redactor
from ruleengine.senders import SenderContext, make_sender

VALID = """\
state_dir: state
destinations:
  slack:      { type: slack, webhook_url: "https://hooks.slack.com/services/T/B/x" }
  mm:         { type: mattermost, webhook_url: "https://mm.example.org/hooks/k" }
  rc:         { type: rocketchat, webhook_url: "https://rc.example.org/hooks/a/b" }
  teams:      { type: teams, webhook_url: "https://x.logic.azure.com/workflows/1?sig=s" }
  discord:    { type: discord, webhook_url: "https://discord.com/api/webhooks/1/t" }
  gchat:      { type: googlechat, webhook_url: "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t" }
  matrix:     { type: matrix, homeserver: "https://m.example.org", room_id: "!r:example.org", token: "${env:MATRIX_TOKEN}" }
  hipchat:    { type: hipchat, url: "https://hipchat.example.com", room: "1234567", token: "${env:HIPCHAT_TOKEN}", from: ruleengine, rate: 0.2 }
  ntfy:       { type: ntfy, topic: ops-alerts }
  gotify:     { type: gotify, url: "https://push.example.org", token: "tok" }
  zulip:      { type: zulip, url: "https://z.example.org", email: bot@z.example.org, api_key: k, stream: ops }
  mail:       { type: email, host: smtp.example.org, to: ops@example.org, from: re@example.org }
  hook:       { type: webhook, url: "https://example.org/h", method: PATCH, body: '{"t": {{ text | tojson }}}' }
sources:
  app: { type: logfile, paths: [app.log] }
rules:
  - { name: r, source: app, match: x, message: x, to: slack }
"""  # noqa: E501 - one destination per line reads best


def test_every_sender_type_loads_and_builds(write_rules: Any) -> None:
    env = {"MATRIX_TOKEN": "syt_matrix_token", "HIPCHAT_TOKEN": "hipchat_token"}
    config = load_config(write_rules(VALID), environ=env)
    assert "syt_matrix_token" in config.secrets
    model = config.model
    assert model.destinations["mail"].to == ["ops@example.org"]
    for name, settings in model.destinations.items():
        sender = make_sender(settings, SenderContext(name, Redactor(config.secrets)))
        sender.close()


def _problems(write_rules: Any, destinations: str) -> str:
    path: Path = write_rules(
        f"state_dir: s\ndestinations:\n{destinations}"
        "sources: { app: { type: logfile, paths: [a.log] } }\n"
        "rules: [{ name: r, source: app, match: x, message: x, to: d }]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = str(caught.value).replace(str(path), "rules.yaml")
    # Only the destination's own mistakes, nothing collateral elsewhere in the file.
    assert all(line.startswith("rules.yaml:3: destinations.d") for line in problems.splitlines())
    return problems


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        (
            "  d: { type: slack, webhook_ur: 'https://h/x' }\n",
            "rules.yaml:3: destinations.d.webhook_ur: unknown key 'webhook_ur' "
            "(did you mean 'webhook_url'?)",
        ),
        (
            "  d: { type: discord, webhook_url: 'discord.com/api/webhooks/1/t' }\n",
            "rules.yaml:3: destinations.d.webhook_url: expected an http:// or https:// URL",
        ),
        (
            "  d: { type: matrix, homeserver: 'https://m', room_id: '#ops:m', token: t }\n",
            "rules.yaml:3: destinations.d.room_id: expected a room id like '!abcdef:example.org'",
        ),
        (
            "  d: { type: hipchat, room: '', token: t }\n",
            "rules.yaml:3: destinations.d.room: must not be empty",
        ),
        (
            "  d: { type: zulip, url: 'https://z', email: bot, api_key: k, stream: s }\n",
            "rules.yaml:3: destinations.d.email: expected an email address like ops@example.com",
        ),
        (
            "  d: { type: ntfy, topic: 'a b' }\n",
            "rules.yaml:3: destinations.d.topic: expected a topic name",
        ),
        (
            "  d: { type: teams }\n",
            "rules.yaml:3: destinations.d.webhook_url: required key is missing",
        ),
        (
            "  d: { type: hipchat_v2, room: r }\n",
            "rules.yaml:3: destinations.d: unknown type 'hipchat_v2' (expected one of: "
            "console, webhook, slack, mattermost, rocketchat, teams, discord, googlechat, matrix, "
            "hipchat, ntfy, gotify, zulip, email, apprise, ruleengine)",
        ),
        (
            "  d: { type: gotify, url: 'https://g', token: t, priority_notify: 11 }\n",
            "rules.yaml:3: destinations.d.priority_notify: Input should be less than or equal to "
            "10",
        ),
        (
            "  d: { type: slack, webhook_url: 'https://h/x', timeout: 0 }\n",
            "rules.yaml:3: destinations.d.timeout: Input should be greater than 0",
        ),
    ],
)
def test_mistakes_are_reported_with_line_and_key(
    write_rules: Any, destination: str, expected: str
) -> None:
    assert expected in _problems(write_rules, destination)
