"""Helpers for rules tests: build a RuleSet from a few YAML rules, make events; shared rules."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from ruleengine.config.loader import load_config_text
from ruleengine.model import Event, stable_id
from ruleengine.rules.compiled import CompiledRule
from ruleengine.rules.compiler import compile_rules
from ruleengine.rules.engine import RuleSet
from ruleengine.rules.select import SourceRules

HEAD = """\
state_dir: {state}
defaults: {{to: [out]}}
destinations: {{out: {{type: console}}, other: {{type: console}}}}
sources:
  log: {{type: logfile, paths: [x.log]}}
  log2: {{type: logfile, paths: [y.log]}}
  drops: {{type: markers, directory: drops}}
rules:
"""


# Rule texts more than one test module builds on. The first two are rule lists for
# ``ruleset``/``rules_yaml``; the third is a whole rules file for a daemon, ``{url}`` its receiver.

# Two rules on ``log``: ``reboot`` to two destinations, ``failed`` to the default one.
SILENCE_RULES = """
- name: reboot
  source: log
  match: '(?P<host>\\S+) rebooted'
  message: "{{ host }} rebooted"
  to: [out, other]
- name: failed
  source: log
  match: '(?P<host>\\S+) failed'
  message: "{{ host }} failed"
"""

# An alert and the recovery that resolves it, paired by package and host.
RESOLVE_RULES = """
- name: install-failed
  source: log
  match: 'Package (?P<package>\\S+) install FAILED on (?P<host>\\S+)'
  message: "{{ package }} failed on {{ host }}"
  color: red
- name: install-ok
  source: log
  match: 'Package (?P<package>\\S+) installed on (?P<host>\\S+)'
  message: "{{ alert.package }} on {{ alert.host }} resolved after {{ open_for | duration }}"
  resolves: {rule: install-failed, key: "{{ package }}@{{ host }}", expire: 1d}
"""

# Daemon tests' rules files (``str.format`` templates: ``{url}`` is the receiver's): a
# webhook ``hook`` every rule sends to, and a logfile source ``app`` reading app.log.
HOOK_AND_APP = """\
state_dir: state
defaults: {{to: [hook]}}
destinations:
  hook: {{type: webhook, url: "{url}/hook"}}
sources:
  app: {{type: logfile, paths: [app.log]}}
"""
# An alert on a failed install, as several daemon tests' rules have it.
INSTALL_FAILED = """\
  - name: install-failed
    source: app
    match: 'Package (?P<package>\\S+) install FAILED'
    message: "{{{{ package }}}} failed"
"""

# A counted threshold, and an alert with its recovery, all sent to a webhook.
THRESHOLD_RULES = (
    HOOK_AND_APP
    + """\
rules:
  - name: brute-force
    source: app
    match: 'login failed from (?P<ip>\\S+)'
    count: {{min: 3, within: 10m, by: "{{{{ ip }}}}"}}
    message: "{{{{ count }}}} failed logins from {{{{ ip }}}}"
"""
    + INSTALL_FAILED
    + """\
  - name: install-ok
    source: app
    match: 'Package (?P<package>\\S+) installed'
    resolves: {{rule: install-failed, key: "{{{{ package }}}}"}}
    message: "{{{{ package }}}} resolved"
"""
)


def rules_yaml(rules: str, state: str = "state") -> str:
    return HEAD.format(state=state) + textwrap.indent(textwrap.dedent(rules), "  ")


def ruleset(rules: str) -> RuleSet:
    config = load_config_text(rules_yaml(rules), Path("/nonexistent/rules.yaml"))
    model = config.model
    return compile_rules(
        model.rules, model.defaults, schedules=model.schedules, destinations=model.destinations
    )


def line(text: str, source: str = "log", offset: int = 0) -> Event:
    return Event(stable_id(source, text, offset), source, "line", text, 1000.0, {"line": text})


def marker(name: str, source: str = "drops", **fields: Any) -> Event:
    meta = {"file": name, "stem": name.split(".", 1)[0], "path": f"/d/{name}"}
    return Event(stable_id(source, name, fields), source, "marker", "", 1000.0, {**fields, **meta})


def fired_names(rules: RuleSet, event: Event) -> list[str]:
    return [f.rule.name for f in rules.fire([event])]


# The line-selection oracle: plain ``re`` per line, to compare the scanner against.


def naive(rules: SourceRules, text: str) -> list[tuple[int, list[tuple[str, dict[str, str]]]]]:
    """What plain re says, line by line and rule by rule."""
    out = []
    start = 0
    for text_line in text.split("\n"):
        chosen = []
        for rule in rules.rules:
            fields = naive_select(rule, text_line)
            if fields is not None:
                chosen.append((rule.name, fields))
        if chosen:
            out.append((start, chosen))
        start += len(text_line) + 1
    return out


def naive_select(rule: CompiledRule, text_line: str) -> dict[str, str] | None:
    assert rule.regex is not None
    found = rule.regex.search(text_line)
    if found is None:
        return None
    if rule.exclude is not None and rule.exclude.search(text_line):
        return None
    return {k: v for k, v in found.groupdict().items() if v is not None}


def fast(rules: SourceRules, text: str) -> list[tuple[int, list[tuple[str, dict[str, str]]]]]:
    return [
        (start, [(r.name, f) for r, f in chosen]) for start, _end, chosen in rules.select_text(text)
    ]
