"""The http source: durable acknowledged events/s and the 202's p50/p99 at 1, 10 and 50
concurrent clients, beside the same events written as marker files, in the same run.

A 202 means the event and its notification are committed (fsync), so the http figures are
end to end durable; the marker figure is from the first rename to the last outbox row.

The clients are stdlib ``http.client`` connections with keep-alive, one thread each: about
0.2 ms of CPU per request, where ``requests`` took 1 ms and, on two cores, left the daemon
less than one.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
from pathlib import Path

from bench.figures import Figure
from tests.support.daemon import DaemonProcess
from tests.support.outbox import outbox_rows

TOKEN = "bench-token-0123456789"  # noqa: S105 - a local bench token
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
RULES = """\
state_dir: {state}
defaults: {{to: [sink]}}
destinations: {{sink: {{type: console}}}}
sources:
  intake:
    type: http
    port: 0
    clients: {{bench: {{token: "{token}"}}}}
    rate: 100000
    burst: 100000
    threads: 64
  drops: {{type: markers, directory: "{drops}", after: delete}}
rules:
  - {{name: http, source: intake, type: probe, message: "http {{{{ seq }}}}"}}
  - {{name: marker, source: drops, file: "probe-*.json", message: "marker {{{{ seq }}}}"}}
"""


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _storm(port: int, clients: int, per_client: int, batch: int) -> tuple[float, list[float]]:
    """``clients`` threads, each posting ``per_client`` requests of ``batch`` events."""
    latencies: list[float] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def client(number: int) -> None:
        mine = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for request in range(per_client):
                body = json.dumps(
                    [{"type": "probe", "seq": f"{number}-{request}-{i}"} for i in range(batch)]
                )
                start = time.perf_counter()
                connection.request("POST", "/v1/events", body, headers)
                answer = connection.getresponse()
                text = answer.read()
                mine.append((time.perf_counter() - start) * 1000)
                assert answer.status == 202, text
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies


def intake(work: Path, events: int) -> list[Figure]:
    root = work / "intake"
    drops, staging = root / "drops", root / "staging"
    drops.mkdir(parents=True)
    staging.mkdir()
    # The daemon watches the rules file's directory for edits: its own output (console
    # destination, log) goes elsewhere, or each notification would wake that watch too.
    (root / "conf").mkdir()
    rules = root / "conf" / "rules.yaml"
    rules.write_text(RULES.format(state=root / "state", token=TOKEN, drops=drops))
    figures: list[Figure] = []
    with DaemonProcess(rules, workdir=root) as daemon:
        port = int(LISTENING.findall(daemon.wait_for_log(LISTENING))[-1])
        for clients, batch in ((1, 1), (10, 1), (50, 1), (10, 10)):
            per_client = max(1, events // clients // batch)
            elapsed, latencies = _storm(port, clients, per_client, batch)
            rate = clients * per_client * batch / elapsed
            p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
            name = f"http {clients} client{'s' * (clients > 1)}, {batch}/request"
            goal = clients == 10 and batch == 1
            figures += [
                Figure(name, "durable acks", rate, "events/s", ">= 2000" if goal else "",
                       rate >= 2000 if goal else True, f"{len(latencies)} requests"),
                Figure(name, "202 p50", p50, "ms", "", True),
                Figure(name, "202 p99", p99, "ms", "<= 50" if goal else "",
                       p99 <= 50 if goal else True),
            ]  # fmt: skip
        before = len(outbox_rows(root / "state"))
        for seq in range(events):
            (staging / f"probe-{seq}.json").write_text(json.dumps({"seq": seq}))
        start = time.perf_counter()
        for seq in range(events):
            os.rename(staging / f"probe-{seq}.json", drops / f"probe-{seq}.json")
        deadline = time.monotonic() + 600
        while len(outbox_rows(root / "state")) < before + events and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        daemon.stop()
    rate = events / elapsed
    figures.append(
        Figure("same events as markers", "committed", rate, "events/s", "", True, "1 writer")
    )
    return figures
