"""Attacks by a user who may write a drop directory, against a real daemon (issue 14).

As root (CI) the daemon runs as root and every attack step runs as ``nobody``; otherwise both
are the current user, and the attacks still try to make the daemon write, move or read through
a link it did not create. Victims must stay untouched (names, modes, contents, mtimes), good
markers must still be delivered, and the daemon must keep running without a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.attacker import Attacker, reachable_dir, snapshot
from tests.support.daemon import DaemonProcess
from tests.support.poll import eventually

pytestmark = pytest.mark.slow
OLD = time.time() - 3600  # markers older than the settle time are read at once
SQLITE_SIDECARS = {"state.db-wal", "state.db-shm", "state.db-journal"}


@dataclass
class World:
    base: Path  # reachable by the attacker
    drop: Path  # writable by the attacker, not sticky: the worst case
    victim: Path  # root-owned files: one 0644, one 0600
    profile: Path  # a directory whose files something else would execute
    state: Path  # the daemon's state directory
    work: Path  # the daemon's rules file and output

    def daemon(self, **source: object) -> DaemonProcess:
        document = {
            "state_dir": str(self.state),
            "destinations": {"out": {"type": "console", "color_output": "never"}},
            "sources": {
                "drop": {"type": "markers", "directory": str(self.drop), "settle": "100ms"} | source
            },
            "rules": [
                {
                    "name": "m",
                    "source": "drop",
                    "to": "out",
                    "message": "got {{ relpath }}: {{ content | default('') }}",
                }
            ],
        }
        rules = self.work / "rules.yaml"
        rules.write_text(yaml.safe_dump(document), encoding="utf-8")
        return DaemonProcess(rules, workdir=self.work)

    def out(self) -> str:
        path = self.work / "daemon.out"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def delivered(self, relpath: str, timeout: float = 20.0) -> None:
        eventually(
            lambda: f"got {relpath}:" in self.out(), timeout, what=f"{relpath} to be delivered"
        )


@pytest.fixture
def attacker() -> Attacker:
    return Attacker()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with reachable_dir() as base:
        drop, victim, profile = base / "drop", base / "victim", base / "profile.d"
        for folder in (drop, victim, profile):
            folder.mkdir()
            folder.chmod(0o755)
        drop.chmod(0o777)  # writable by everyone, no sticky bit
        (victim / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (victim / "secret.txt").write_text("TOPSECRET-do-not-send\n")
        (victim / "secret.txt").chmod(0o600)
        (profile / "00-existing.sh").write_text("export PATH=/usr/bin\n")
        yield World(base, drop, victim, profile, tmp_path / "state", tmp_path)


def still_fine(daemon: DaemonProcess) -> None:
    assert daemon.proc is not None and daemon.proc.poll() is None, daemon.output
    assert "Traceback" not in daemon.output, daemon.output


def test_a_reason_link_planted_in_failed_is_never_written_through(
    world: World, attacker: Attacker
) -> None:
    attacker.run(
        "os.mkdir(sys.argv[1], 0o755); os.chmod(sys.argv[1], 0o755)\n"
        "os.symlink(sys.argv[2], os.path.join(sys.argv[1], 'evil.json.reason'))\n",
        world.drop / "failed",
        world.victim / "passwd",
    )
    before = snapshot(world.victim)
    with world.daemon() as daemon:
        attacker.run(
            "drop(sys.argv[1], '{not json'); drop(sys.argv[2], 'hello')",
            world.drop / "evil.json",
            world.drop / "good.txt",
        )
        world.delivered("good.txt")
        daemon.wait_for_log("bad marker evil.json")
        time.sleep(0.5)  # a reason file would be written right after that line
        still_fine(daemon)
        assert snapshot(world.victim) == before
        if attacker.privileged_daemon:  # failed/ belongs to nobody: never used
            assert (world.drop / "evil.json").exists()
            assert "owned by uid" in daemon.output, daemon.output
        else:  # the attacker is the daemon's user: failed/ is used, the planted name skipped
            assert (world.drop / "failed" / "evil.json.1.reason").is_file()
        assert daemon.stop() == 0


@pytest.mark.parametrize("folder", ["processed", "failed"])
@pytest.mark.parametrize("target", ["profile.d", "state"])
def test_an_archive_directory_swapped_for_a_link_is_refused(
    world: World, attacker: Attacker, folder: str, target: str
) -> None:
    good = folder == "processed"
    content = "echo pwned" if good else "{not json"
    with world.daemon() as daemon:
        first = world.drop / ("first.txt" if good else "first.json")
        attacker.run("drop(sys.argv[1], sys.argv[2])", first, content)
        eventually((world.drop / folder / first.name).exists, what=f"{folder}/ made")
        time.sleep(0.5)  # the daemon is done with the first marker
        victim = world.profile if target == "profile.d" else world.state
        name = "evil.sh" if target == "profile.d" else "state.db"
        before = snapshot(world.profile)
        names_before = {p.name for p in world.state.iterdir()}
        attacker.run(
            "head, tail = os.path.split(sys.argv[1]); aside = os.path.join(head, '.old-' + tail)\n"
            "os.rename(sys.argv[1], aside); os.symlink(sys.argv[2], sys.argv[1])\n"
            "drop(sys.argv[3], sys.argv[4])\n",
            world.drop / folder,
            victim,
            world.drop / name,
            content,
        )
        if good:
            world.delivered(name)
            eventually(
                lambda: (
                    not (world.drop / name).exists() or f"cannot archive {name}" in daemon.output
                ),
                what="the archive attempt",
            )
        else:
            daemon.wait_for_log(f"bad marker {name}")
        time.sleep(0.5)
        attacker.run("drop(sys.argv[1], 'after')", world.drop / "after.txt")
        world.delivered("after.txt")
        still_fine(daemon)
        assert snapshot(world.profile) == before
        assert {p.name for p in world.state.iterdir()} - names_before <= SQLITE_SIDECARS
        assert (world.drop / folder).is_symlink()  # the attacker's link, left alone
        assert daemon.stop() == 0


SWAPPER = """\
drop_dir, victim_dir = sys.argv[1:3]
first, sub = os.path.join(drop_dir, "g-000.txt"), os.path.join(drop_dir, "sub")
deadline = time.time() + 60
while os.path.exists(first):  # gone once the daemon is consuming the scan's listing
    if time.time() > deadline:
        sys.exit("the daemon never consumed g-000.txt")
    time.sleep(0.0005)
os.rename(sub, sub + ".old")
os.symlink(victim_dir, sub)
"""
MANY = 400  # good markers listed before the one in sub/: the scan is still busy with them


def test_a_subdirectory_swapped_for_a_link_mid_scan_is_not_followed(
    world: World, attacker: Attacker
) -> None:
    """The listing saw sub/ as a directory and sub/secret.txt as the attacker's own file; by
    the time it is read, sub is a link to a directory holding a 0600 secret of that name."""
    attacker.run(
        "drop_dir, old, many = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])\n"
        "os.mkdir(os.path.join(drop_dir, 'sub'))\n"
        "for i in range(many):\n"
        "    drop(os.path.join(drop_dir, 'g-%03d.txt' % i), 'good %d' % i, old + i)\n"
        "drop(os.path.join(drop_dir, 'sub', 'secret.txt'), 'decoy', old + many + 10)\n",
        world.drop,
        OLD,
        MANY,
    )
    before = snapshot(world.victim)
    swapper = attacker.start(SWAPPER, world.drop, world.victim)
    with world.daemon(recursive=True, patterns=["*.txt"]) as daemon:
        Attacker.finish(swapper)
        eventually(
            lambda: world.out().count("got g-") == MANY, 30, what="every good marker delivered"
        )
        world.delivered("sub.old/secret.txt")  # the decoy, where the attacker moved it
        time.sleep(0.5)
        still_fine(daemon)
        assert "TOPSECRET" not in world.out()
        assert snapshot(world.victim) == before
        assert daemon.stop() == 0
