"""Store check-ins per second and p95 latency: SQLite, PostgreSQL direct, and FleetStore
kiosks (journal first, PostgreSQL behind), each with 1 and with 8 processes, no chaos.

A check-in here is the store's part of one (``check_in_once`` with the service's repeat
window, as :class:`~hospital_adapter.service.CheckInService` calls it; no HIS send): a
self-pay visit of a distinct patient, departments in turn. The 8 processes of a row are
started, open their store (a fleet kiosk also waits for its first leases), then begin
together; throughput is all their check-ins over the time from the first start to the
last finish. Every row uses a fresh database: one SQLite file (shared by the 8), or a new
PostgreSQL database on a private cluster this script starts and stops. Fleet kiosks use
the settings of :mod:`simulators.fleet_kiosk` (blocks of 20, topped up below 10); their
"handed on" figure is how long after its last check-in the slowest kiosk's journal was
all in the hospital's store.

Run: ``python bench/bench_fleet.py [--checkins N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hospital_adapter.errors import StoreError
from hospital_adapter.service import REPEAT_WINDOW
from hospital_adapter.store import CheckInStore, FleetSettings, FleetStore, Store
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus, utc_now
from simulators.fleet_kiosk import requests, wait_for
from simulators.postgres import PostgresCluster

KEY = bytes(32)
DEPARTMENTS = ("K01", "K03")
PROCESSES = (1, 8)
KINDS = ("sqlite", "postgresql", "fleet")
LABELS = {
    "sqlite": "SQLite file",
    "postgresql": "PostgreSQL, Store direct",
    "fleet": "FleetStore kiosk (journal, PostgreSQL behind)",
}
WORKER_TIMEOUT_S = 120.0


def _today() -> date:
    return utc_now().astimezone(VIETNAM_TIME).date()


def _open(kind: str, location: str, journal: str, name: str) -> CheckInStore:
    if kind != "fleet":
        return Store(location, KEY)
    settings = FleetSettings(
        kiosk=name, departments=DEPARTMENTS, block=20, low_water=10, retry_after_s=0.5,
        interval_s=0.2,
    )  # fmt: skip
    fleet = FleetStore(location, journal, KEY, settings).start()
    if not wait_for(lambda: all(fleet.numbers_left(d, _today()) > 0 for d in DEPARTMENTS), 30):
        raise SystemExit("the fleet kiosk got no leases")
    return fleet


def worker(kind: str, location: str, journal: str, count: int, seed: int) -> None:
    """One process of a row: open, say ``ready``, wait for ``go``, check in, report."""
    store = _open(kind, location, journal, f"bench{seed}")
    batch = requests(seed, count, DEPARTMENTS)
    print("ready", flush=True)
    sys.stdin.readline()
    latencies, refused = [], 0
    started = time.time()
    for request in batch:
        start = time.perf_counter()
        try:
            store.check_in_once(
                request, InsuranceStatus.NOT_APPLICABLE, repeat_window=REPEAT_WINDOW
            )
        except StoreError:
            refused += 1
            continue
        latencies.append(time.perf_counter() - start)
    finished = time.time()
    handed_on_s = 0.0
    if isinstance(store, FleetStore):
        journal_store = store.journal_store
        wait_for(lambda: not journal_store.journal(1), 60, 0.01)
        handed_on_s = time.time() - finished
    store.close()
    answer = {"started": started, "finished": finished, "latencies": latencies}
    print(json.dumps(answer | {"refused": refused, "handed_on_s": handed_on_s}), flush=True)


@dataclass(frozen=True)
class Row:
    kind: str
    processes: int
    checkins: int
    seconds: float
    per_s: float
    p95_ms: float
    refused: int
    handed_on_s: float


def run_row(kind: str, processes: int, count: int, location: str, tmp: Path) -> Row:
    """Start ``processes`` workers of ``kind``, let them go at once, collect their figures."""
    workers = []
    try:
        for seed in range(processes):
            journal = str(tmp / f"{kind}-{processes}-journal{seed}.sqlite3")
            argv = [sys.executable, __file__, "--worker", kind, location, journal]
            workers.append(
                subprocess.Popen(
                    [*argv, str(count), str(seed)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        for process in workers:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit(f"a {kind} worker failed to start")
        for process in workers:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        answers: list[dict[str, Any]] = []
        for process in workers:
            out, _ = process.communicate(timeout=WORKER_TIMEOUT_S)
            if process.returncode != 0:
                raise SystemExit(f"a {kind} worker failed ({process.returncode})")
            answers.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    latencies = sorted(s for a in answers for s in a["latencies"])
    seconds = max(a["finished"] for a in answers) - min(a["started"] for a in answers)
    return Row(
        kind=kind,
        processes=processes,
        checkins=len(latencies),
        seconds=seconds,
        per_s=len(latencies) / seconds,
        p95_ms=latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        refused=sum(a["refused"] for a in answers),
        handed_on_s=max(a["handed_on_s"] for a in answers),
    )


def bench(per_process: dict[int, int]) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, PostgresCluster() as cluster:
        for processes in PROCESSES:
            for kind in KINDS:
                if kind == "sqlite":
                    location = str(Path(tmp) / f"shared-{processes}.sqlite3")
                else:
                    location = cluster.create_database(f"bench_{uuid.uuid4().hex[:12]}")
                Store(location, KEY).close()  # the schema, before the clock starts
                rows.append(run_row(kind, processes, per_process[processes], location, Path(tmp)))
    return rows


def describe(row: Row, baseline: Row) -> str:
    text = (
        f"{row.per_s:6.0f} /s  p95 {row.p95_ms:6.2f} ms"
        f"  ({row.per_s / baseline.per_s:.2f}× the throughput,"
        f" {row.p95_ms / baseline.p95_ms:.2f}× the p95 of SQLite)"
    )
    if row.kind == "fleet":
        text += f"  handed on {row.handed_on_s:.2f} s after"
    if row.refused:
        text += f"  REFUSED {row.refused}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=400, help="for the 1-process rows")
    parser.add_argument(
        "--checkins-each", type=int, default=100, help="per process, for the 8-process rows"
    )
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, location, journal, count, seed = args.worker
        worker(kind, location, journal, int(count), int(seed))
        return
    started = time.monotonic()
    rows = bench({1: args.checkins, 8: args.checkins_each})
    if args.json:
        print(json.dumps({"rows": [asdict(r) for r in rows]}))
        return
    baselines = {r.processes: r for r in rows if r.kind == "sqlite"}
    for row in rows:
        what = f"{LABELS[row.kind]}, {row.processes} process{'es' if row.processes > 1 else ''}"
        print(f"{what:58} {row.checkins:5} check-ins  {describe(row, baselines[row.processes])}")
    print(f"(bench: {time.monotonic() - started:.0f} s, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
