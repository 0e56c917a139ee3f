"""Event data is data, never a template (issue 9): payloads in log lines and marker fields that
look like Jinja, interpolation or format strings are shown literally, never evaluated.

Property-based through ``ruleengine test`` in-process (the exact text each destination would
get), and once end to end through a real daemon to a real receiver.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleengine.cli import main
from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

PAYLOADS = [
    "{{ 7*7 }}",
    "{{7*'7'}}",
    "{% for i in range(3) %}x{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ config }}{{ self }}{{ request }}",
    "{# comment #}",
    "{{",
    "}}",
    "{%",
    "${env:HOME}",
    "${file:/etc/passwd}",
    "$${env:HOME}",
    "%(x)s %s %n",
    "{0} {x!r}",
    "\x1b[31mred\x1b[0m",
    "<script>alert(1)</script>",
    "@here <!channel> @everyone",
    "\\u0000 \\n",
]

RULES = """\
state_dir: state
destinations:
  hook: {{type: webhook, url: "{url}/hook"}}
sources:
  app: {{type: logfile, paths: [app.log], start_at: beginning}}
  drops: {{type: markers, directory: drops}}
rules:
  - name: line
    source: app
    match: '^evt (?P<data>.*)$'
    to: hook
    title: "t:{{{{ data }}}}"
    message: "got {{{{ data }}}}!"
  - name: marker
    source: drops
    file: '*.json'
    to: hook
    message: "got {{{{ value }}}}!"  # `data` is the marker's whole payload
"""


def dry_run(rules: Path, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["test", "-c", str(rules), *argv])
    assert code == 0, err.getvalue()
    return out.getvalue()


def rules_file(directory: Path, url: str = "http://127.0.0.1:9") -> Path:
    path = directory / "rules.yaml"
    path.write_text(RULES.format(url=url), encoding="utf-8")
    return path


payload_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.lists(st.sampled_from(PAYLOADS), min_size=2, max_size=4).map(" ".join),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload_text)
def test_line_payloads_render_literally(payload: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        output = dry_run(rules_file(Path(temp)), "--line", f"evt {payload}")
    assert f"  → hook: got {payload}!\n" in output


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload_text)
def test_marker_field_payloads_render_literally(payload: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        marker = Path(temp) / "x.json"
        marker.write_text(json.dumps({"value": payload}), encoding="utf-8")
        output = dry_run(rules_file(Path(temp)), "--marker", str(marker))
    assert f"  → hook: got {payload}!\n" in output


@pytest.mark.slow
def test_payloads_reach_a_real_receiver_literally(tmp_path: Path) -> None:
    (tmp_path / "drops").mkdir()
    with Receiver() as receiver:
        rules = rules_file(tmp_path, receiver.url)
        (tmp_path / "app.log").write_text(
            "".join(f"evt {payload}\n" for payload in PAYLOADS), encoding="utf-8"
        )
        with DaemonProcess(rules) as daemon:
            (tmp_path / "drops" / "m.json").write_text(
                json.dumps({"value": PAYLOADS[0]}), encoding="utf-8"
            )
            got = receiver.wait_for(len(PAYLOADS) + 1)
            assert daemon.stop() == 0
    bodies = [request.json() for request in got]
    lines = [b for b in bodies if b["rule"] == "line"]
    assert [b["text"] for b in lines] == [f"got {p}!" for p in PAYLOADS]
    assert [b["title"] for b in lines] == [f"t:{p}" for p in PAYLOADS]
    (marker,) = [b for b in bodies if b["rule"] == "marker"]
    assert marker["text"] == f"got {PAYLOADS[0]}!"
