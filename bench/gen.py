"""Deterministic benchmark data: syslog-style lines, ~1% of them matching the rules.

Nothing is downloaded; the same seed gives byte-identical files on every machine.
"""

from __future__ import annotations

import random
from pathlib import Path

# Twenty realistic rules with named groups, as an ops team would write them.
PATTERNS_20: list[str] = [
    r"sshd\[\d+\]: Failed password for (?:invalid user )?(?P<user>\S+) from (?P<ip>[\d.]+)",
    r"kernel: .*Out of memory: Killed process (?P<pid>\d+) \((?P<proc>[^)]+)\)",
    r"installer\[\d+\]: Package (?P<package>\S+) install FAILED exit=(?P<code>\d+)",
    r"systemd\[1\]: (?P<unit>\S+)\.service: Main process exited, code=exited, "
    r"status=(?P<status>\d+)",
    r"CRON\[\d+\]: \((?P<user>\w+)\) ERROR \((?P<reason>[^)]*)\)",
    r"smartd\[\d+\]: Device: (?P<dev>/dev/\w+), (?P<count>\d+) Currently unreadable",
    r"backup\[\d+\]: job (?P<job>\S+) finished with status (?P<status>FAILED|PARTIAL)",
    r"nginx\[\d+\]: .* upstream timed out .* upstream: \"(?P<upstream>[^\"]+)\"",
    r"postfix/smtp\[\d+\]: (?P<qid>[0-9A-F]+): .*status=bounced \((?P<why>[^)]*)\)",
    r"kernel: .*EXT4-fs error \(device (?P<dev>\w+)\)",
    r"sudo: +(?P<user>\w+) : (?P<count>\d+) incorrect password attempts",
    r"dockerd\[\d+\]: .*container (?P<cid>[0-9a-f]{12}) died .*exitCode=(?P<code>[1-9]\d*)",
    r"mysqld\[\d+\]: .*\[ERROR\] (?P<message>.+)",
    r"vmotion\[\d+\]: VM (?P<vm>\S+) storage migration (?P<state>failed|stalled) at "
    r"(?P<pct>\d+)%",
    r"wuauclt\[\d+\]: Update (?P<kb>KB\d+) failed with (?P<hr>0x[0-9a-fA-F]{8})",
    r"ntpd\[\d+\]: time reset (?P<offset>[+-]\d+\.\d+) s",
    r"zfs\[\d+\]: pool (?P<pool>\w+) state (?P<state>DEGRADED|FAULTED)",
    r"haproxy\[\d+\]: Server (?P<backend>\S+)/(?P<server>\S+) is DOWN",
    r"certbot\[\d+\]: Renewal of (?P<domain>\S+) failed",
    r"raid\[\d+\]: md(?P<md>\d+): Disk failure on (?P<disk>\w+)",
]

_SAMPLES_20: list[str] = [
    "sshd[{pid}]: Failed password for invalid user admin from 203.0.113.{n} port 22 ssh2",
    "kernel: [{n}.123] Out of memory: Killed process {pid} (java) total-vm:1234kB",
    "installer[{pid}]: Package pkg{n} install FAILED exit=1603",
    "systemd[1]: app{n}.service: Main process exited, code=exited, status=1/FAILURE",
    "CRON[{pid}]: (root) ERROR (getpwnam() failed)",
    "smartd[{pid}]: Device: /dev/sda, {n} Currently unreadable (pending) sectors",
    "backup[{pid}]: job nightly-{n} finished with status FAILED",
    'nginx[{pid}]: 2026/11/27 upstream timed out (110) upstream: "http://10.0.0.{n}:8080/"',
    "postfix/smtp[{pid}]: 4F{n}A: to=<a@b.c>, status=bounced (host said: 550 no)",
    "kernel: [{n}.5] EXT4-fs error (device sdb1): ext4_find_entry:1455",
    "sudo:    bob : 3 incorrect password attempts ; TTY=pts/0",
    "dockerd[{pid}]: time=x container 0123456789ab died image=x exitCode=137",
    "mysqld[{pid}]: 2026-11-27 [ERROR] Table ./db/t{n} is marked as crashed",
    "vmotion[{pid}]: VM vm-{n} storage migration stalled at 42%",
    "wuauclt[{pid}]: Update KB50{n} failed with 0x80070005",
    "ntpd[{pid}]: time reset +0.{n}5 s",
    "zfs[{pid}]: pool tank state DEGRADED",
    "haproxy[{pid}]: Server web/web{n} is DOWN, reason: Layer4 timeout",
    "certbot[{pid}]: Renewal of example{n}.com failed",
    "raid[{pid}]: md{n}: Disk failure on sdc1, disabling device.",
]

# Background noise, some of it near misses sharing the rules' literals.
_NOISE: list[str] = [
    "sshd[{pid}]: Accepted publickey for deploy from 198.51.100.{n} port 51234 ssh2",
    "sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy",
    "CRON[{pid}]: (root) CMD (run-parts /etc/cron.hourly)",
    "systemd[1]: Started Session {n} of user root.",
    "systemd[1]: app{n}.service: Succeeded.",
    "kernel: [{n}.001] eth0: link up, 1000 Mbps, full duplex",
    "installer[{pid}]: Package pkg{n} install OK",
    "backup[{pid}]: job nightly-{n} finished with status OK",
    'nginx[{pid}]: 10.0.0.{n} - - "GET /health HTTP/1.1" 200 2',
    "postfix/smtp[{pid}]: 4F{n}A: to=<a@b.c>, status=sent (250 ok)",
    "dockerd[{pid}]: container 0123456789ab died image=x exitCode=0",
    "vmotion[{pid}]: VM vm-{n} storage migration progress 42%",
    "wuauclt[{pid}]: Update KB50{n} installed successfully",
    "haproxy[{pid}]: Server web/web{n} is UP",
    "zfs[{pid}]: pool tank state ONLINE",
    'rsyslogd: [origin software="rsyslogd"] rsyslogd was HUPed',
]

HOSTS = [f"srv{i:03d}" for i in range(40)]


def patterns(count: int) -> list[str]:
    """The 20 hand-written rules, then generated ones of the same shape up to ``count``."""
    out = list(PATTERNS_20[:count])
    for index in range(len(out), count):
        out.append(
            rf"svc{index}\[\d+\]: (?P<level>ERROR|FATAL) task (?P<task>\S+) "
            rf"failed code=(?P<code>\d+)"
        )
    return out


def write_log(
    path: Path, lines: int, match_ratio: float = 0.01, seed: int = 7, min_bytes: int = 0
) -> None:
    """Write ``lines`` syslog lines (more if needed to reach ``min_bytes``); about
    ``match_ratio`` of them match one of the 20 rules."""
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        i = 0
        while i < lines or written < min_bytes:
            second = i // 1000
            stamp = f"Nov 27 {second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            host = HOSTS[rng.randrange(len(HOSTS))]
            pool = _SAMPLES_20 if rng.random() < match_ratio else _NOISE
            body = pool[rng.randrange(len(pool))].format(
                pid=rng.randrange(100, 99999), n=rng.randrange(1, 250)
            )
            written += out.write(f"{stamp} {host} {body}\n")  # ASCII: characters are bytes
            i += 1


def rules_yaml(pattern_list: list[str], log_glob: str, state_dir: str) -> str:
    """A rules file with one rule per pattern, all to a console destination on /dev/null."""
    lines = [
        f"state_dir: {state_dir}",
        "defaults: {to: [sink]}",
        "destinations:",
        "  sink: {type: console, stream: stderr, color_output: never}",
        "sources:",
        f"  log: {{type: logfile, paths: ['{log_glob}'], start_at: beginning}}",
        "rules:",
    ]
    for index, pattern in enumerate(pattern_list):
        quoted = pattern.replace("'", "''")
        lines += [
            f"  - name: rule{index}",
            "    source: log",
            f"    match: '{quoted}'",
            "    message: 'rule fired'",
        ]
    return "\n".join(lines) + "\n"
