"""The markers source end to end on real directories: formats, after-actions, ledger, readiness."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path

import pytest

from ruleengine.config import load_config_text
from ruleengine.engine import Engine
from ruleengine.errors import ConfigError
from ruleengine.sources.markers.readiness import Readiness
from tests.support.markerkit import Pipeline, names, rules_text
from tests.support.outbox import outbox
from tests.support.payloads import PS51_JSON, ps7_default, ps51_out_file
from tests.support.poll import eventually

ECHO = {"name": "echo", "message": "{{ file }}"}


def replace(path: Path, text: str) -> None:
    """Rewrite a kept marker the way the README tells scripts to: temp file, then rename."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def test_markers_already_there_are_processed_in_every_format(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "srv1.installed.json").write_bytes(ps51_out_file(PS51_JSON))
    (drop / "vm.progress.yaml").write_bytes(ps7_default("vm: web-01\nprogress: 40"))
    (drop / "pkg.kv").write_bytes(b"package=7zip\r\ncode=0\r\n")
    (drop / "note.txt").write_bytes(b"line one\nline two\n")
    (drop / "srv2.rebooted.json").write_bytes(b"")
    rule = {"name": "all", "message": "{{ format }} {{ stem }} {{ size }}"}
    with Pipeline(tmp_path, {}, [rule]):
        rows = eventually(
            lambda: len(outbox(tmp_path / "state")) == 5 and outbox(tmp_path / "state")
        )
        eventually(lambda: names(drop) == ["processed"], what="all archived")
    by_file = {row["fields"]["file"]: row for row in rows}
    assert by_file["srv1.installed.json"]["fields"]["updates"] == ["KB5034441", "KB5034122"]
    assert by_file["srv1.installed.json"]["text"].startswith("json srv1 ")
    assert by_file["vm.progress.yaml"]["fields"]["progress"] == 40
    assert by_file["pkg.kv"]["fields"]["package"] == "7zip"
    assert by_file["note.txt"]["fields"]["lines"] == ["line one", "line two"]
    assert by_file["srv2.rebooted.json"]["text"] == "text srv2 0"
    assert names(drop / "processed") == sorted(by_file)


def test_file_facts_win_over_payload_keys_which_stay_under_data(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.json").write_text('{"file": "setup.msi", "size": "big", "who": "me"}')
    rule = {"name": "r", "file": "a.json", "message": "{{ file }} {{ data.file }} {{ who }}"}
    with Pipeline(tmp_path, {}, [rule]):
        (row,) = eventually(lambda: outbox(tmp_path / "state"))
    assert row["text"] == "a.json setup.msi me"
    assert row["fields"]["size"] == (tmp_path / "drop" / "processed" / "a.json").stat().st_size


def test_archive_never_overwrites_and_delete_removes(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "processed").mkdir(parents=True)
    (drop / "processed" / "x.json").write_text("old")
    (drop / "x.json").write_text("{}")
    with Pipeline(tmp_path, {}, [ECHO]):
        eventually(lambda: names(drop / "processed") == ["x.json", "x.json.1"])
    assert (drop / "processed" / "x.json").read_text() == "old"

    other = tmp_path / "second"
    (other / "drop").mkdir(parents=True)
    (other / "drop" / "y.json").write_text("{}")
    with Pipeline(other, {"after": "delete"}, [ECHO]):
        eventually(lambda: names(other / "drop") == [])
    assert len(outbox(other / "state")) == 1


def test_keep_resends_only_when_the_content_changes(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    marker = drop / "vm.progress.json"
    marker.write_text('{"progress": 10}')
    rule = {"name": "p", "message": "{{ progress }}%"}
    state = tmp_path / "state"
    with Pipeline(tmp_path, {"after": "keep"}, [rule]):
        eventually(lambda: len(outbox(state)) == 1)
        replace(marker, '{"progress": 10}')  # rewritten, same content: not news
        replace(marker, '{"progress": 60}')
        eventually(lambda: len(outbox(state)) == 2)
        replace(marker, '{"progress": 60}')
        (drop / "sync.json").write_text('{"progress": 0}')
        eventually(lambda: len(outbox(state)) == 3, what="the sync marker")
    with Pipeline(tmp_path, {"after": "keep"}, [rule]):  # a restart remembers kept markers
        (drop / "sync2.json").write_text('{"progress": 1}')
        eventually(lambda: len(outbox(state)) == 4, what="the second sync marker")
    assert [row["text"] for row in outbox(state)] == ["10%", "60%", "0%", "1%"]
    assert marker.exists()


def test_unmatched_keep_warns_once_and_is_evaluated_again_after_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "stray.json").write_text("{}")
    rule = {"name": "only-x", "file": "x.json", "message": "x"}
    with caplog.at_level(logging.WARNING), Pipeline(tmp_path, {}, [rule]):
        eventually(lambda: "no rule selected" in caplog.text)
        (drop / "x.json").write_text("{}")  # makes the directory be scanned again…
        eventually(lambda: not (drop / "x.json").exists())
        (drop / "stray-sync.json").write_text("{}")  # …and again
        eventually(lambda: "stray-sync.json" in caplog.text)
    assert caplog.text.count("stray.json;") == 1
    assert names(drop) == ["processed", "stray-sync.json", "stray.json"]
    catch_all = {"name": "any", "message": "late: {{ file }}"}
    with Pipeline(tmp_path, {}, [rule, catch_all]):
        eventually(lambda: names(drop) == ["processed"], what="kept strays matched after restart")
    texts = sorted(row["text"] for row in outbox(tmp_path / "state"))
    assert texts == ["late: stray-sync.json", "late: stray.json", "x"]


@pytest.mark.parametrize("policy", ["archive", "delete"])
def test_unmatched_archive_or_delete(tmp_path: Path, policy: str) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "stray.json").write_text("{}")
    rule = {"name": "only-x", "file": "x.json", "message": "x"}
    with Pipeline(tmp_path, {"unmatched": policy}, [rule]):
        eventually(lambda: not (drop / "stray.json").exists())
    assert names(drop / "processed") == (["stray.json"] if policy == "archive" else [])
    assert outbox(tmp_path / "state") == []


def test_committed_but_not_archived_is_finished_without_a_second_message(tmp_path: Path) -> None:
    """The state a crash between commit and archive leaves: the ledger knows the marker."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.json").write_text('{"n": 1}')
    crashing = Pipeline(tmp_path, {}, [ECHO])
    engine = crashing.engine
    # Commit as usual but never run the after-commit action: what a crash right after the
    # commit leaves behind.
    engine.emit = lambda batch: Engine.emit(engine, dataclasses.replace(batch, on_committed=None))  # type: ignore[method-assign]
    with crashing:
        eventually(lambda: len(outbox(tmp_path / "state")) == 1)
    assert (drop / "a.json").exists()  # not archived
    with Pipeline(tmp_path, {}, [ECHO]):
        eventually((drop / "processed" / "a.json").exists)
    assert len(outbox(tmp_path / "state")) == 1


def test_hidden_and_temporary_names_are_never_read(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    skipped = [".hidden.json", "a.json.tmp", "b.part", "c.json~", "d.json.swp"]
    for name in skipped:
        (drop / name).write_text("{")
    (drop / "ok.json").write_text("{}")
    with Pipeline(tmp_path, {}, [ECHO]):
        eventually(lambda: len(outbox(tmp_path / "state")) == 1)
    assert names(drop) == sorted([*skipped, "processed"])


def test_a_file_open_for_writing_is_read_only_after_close(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    state = tmp_path / "state"
    with Pipeline(tmp_path, {}, [ECHO]):
        with (drop / "slow.json").open("w") as handle:
            handle.write('{"host": ')
            handle.flush()
            time.sleep(0.3)  # longer than settle: only the missing close holds it back
            (drop / "sync.json").write_text("{}")
            eventually(lambda: len(outbox(state)) == 1, what="the sync marker")
            assert (drop / "slow.json").exists()
            handle.write('"srv1"}')
        eventually(lambda: len(outbox(state)) == 2, what="the closed marker")
    assert not (drop / "failed").exists()
    assert outbox(state)[1]["fields"]["host"] == "srv1"


def test_a_file_renamed_into_the_directory_is_read_at_once(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    staging = tmp_path / "staging.json"
    rule = {"name": "r", "message": "{{ v }}"}
    with Pipeline(tmp_path, {"settle": "1h"}, [rule]):  # no waiting needed after a rename
        staging.write_text('{"v": "renamed"}')
        os.rename(staging, drop / "r.json")
        (row,) = eventually(lambda: outbox(tmp_path / "state"))
    assert row["text"] == "renamed"


def test_polling_reads_only_after_size_and_mtime_are_stable(tmp_path: Path) -> None:
    """For shares: nobody tells us about a close, so the file must stop changing first."""
    drop = tmp_path / "drop"
    drop.mkdir()
    ready = Readiness(settle=0.3, poll=True, follow_symlinks=False)
    marker = drop / "m.json"
    marker.write_text("{")
    assert ready.wait_for("m.json", marker.stat()) > 0
    time.sleep(0.15)
    marker.write_text("{}")  # changed: the clock starts again
    assert ready.wait_for("m.json", marker.stat()) > 0.2
    time.sleep(0.35)
    assert ready.wait_for("m.json", marker.stat()) == 0
    with Pipeline(tmp_path, {"poll": "50ms", "settle": "100ms"}, [ECHO]):
        eventually(lambda: len(outbox(tmp_path / "state")) == 1)


# watchdog 7 warns (harmlessly, from its inotify thread) when nested directories such as
# processed/site-a/hosts appear faster than it adds watches; filterwarnings=error would turn
# that into a thread exception. The source does not rely on those watches: it rescans.
@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
def test_recursive_with_patterns(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "site-a" / "hosts").mkdir(parents=True)
    (drop / "site-a" / "hosts" / "srv1.rebooted.json").write_text('{"n": 1}')
    (drop / "site-a" / "readme.md").write_text("not a marker")
    (drop / "top.json").write_text("{}")
    source = {"recursive": True, "patterns": ["*.json"]}
    rule = {"name": "r", "message": "{{ relpath }}"}
    with Pipeline(tmp_path, source, [rule]):
        eventually(lambda: len(outbox(tmp_path / "state")) == 2)
        (drop / "site-b").mkdir()
        (drop / "site-b" / "late.json").write_text("{}")
        eventually(lambda: len(outbox(tmp_path / "state")) == 3)
        eventually((drop / "processed" / "site-b" / "late.json").exists)
    texts = sorted(row["text"] for row in outbox(tmp_path / "state"))
    assert texts == ["site-a/hosts/srv1.rebooted.json", "site-b/late.json", "top.json"]
    assert (drop / "processed" / "site-a" / "hosts" / "srv1.rebooted.json").exists()
    assert (drop / "site-a" / "readme.md").exists()


def test_directory_created_after_start_is_picked_up(tmp_path: Path) -> None:
    with Pipeline(tmp_path, {}, [ECHO]):
        time.sleep(0.1)
        (tmp_path / "drop").mkdir()
        (tmp_path / "drop" / "late.json").write_text("{}")
        eventually(lambda: len(outbox(tmp_path / "state")) == 1, timeout=20)


def test_a_kept_marker_removed_and_dropped_again_is_new(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    marker = drop / "srv1.rebooted.json"
    marker.write_text("{}")
    state = tmp_path / "state"
    with Pipeline(tmp_path, {"after": "keep"}, [ECHO]):
        eventually(lambda: len(outbox(state)) == 1)
        marker.unlink()  # the script cleans up…
        (drop / "sync.json").write_text("{}")
        eventually(lambda: len(outbox(state)) == 2, what="a scan after the removal")
        (drop / "sync2.json").write_text("{}")
        eventually(lambda: len(outbox(state)) == 3, what="a second scan after the removal")
        replace(marker, "{}")  # …and next month the same (empty) news again
        eventually(lambda: len(outbox(state)) == 4, what="the marker dropped again")


def test_bad_source_settings_are_reported_with_their_line(tmp_path: Path) -> None:
    text = rules_text(
        tmp_path / "state",
        {"directory": "d", "patterns": ["(?P<x>["], "format": "xml", "poll": 0},
        [ECHO],
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, tmp_path / "rules.yaml")
    problems = "\n".join(caught.value.problems)
    assert "sources.drop.patterns" in problems and "invalid pattern" in problems
    assert "sources.drop.format" in problems
    assert "sources.drop.poll" in problems
    assert all(p.startswith(f"{tmp_path / 'rules.yaml'}:") for p in caught.value.problems)
