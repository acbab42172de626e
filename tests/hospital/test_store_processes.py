"""Real processes on one SQLite file: unique tickets, nothing lost to SIGKILL."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from hospital_adapter.store import Store

from .helpers import KEY

ROOT = Path(__file__).resolve().parents[2]


def _worker(path: Path, count: int, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.hospital.store_worker", str(path), str(count), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_eight_processes_get_unique_contiguous_tickets(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    Store(path, KEY).close()  # create the schema once
    workers = [_worker(path, 25, seed) for seed in range(8)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * 8
    printed = [line.split() for out in outputs for line in out.splitlines()]
    tickets = sorted(int(t) for t, _ in printed)
    assert tickets == list(range(1, 201))
    store = Store(path, KEY)
    stored = store.checkins()
    assert sorted(s.ticket for s in stored) == tickets
    assert {s.checkin_id for s in stored} == {cid for _, cid in printed}
    assert store.outbox_counts()["pending"] == 200
    assert store.verify_audit() == 200


def test_sigkill_mid_check_in_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    Store(path, KEY).close()
    worker = _worker(path, 100_000, 7)
    assert worker.stdout is not None
    committed = [worker.stdout.readline().split() for _ in range(150)]
    worker.send_signal(signal.SIGKILL)
    committed += [line.split() for line in worker.stdout.read().splitlines()]
    worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = Store(path, KEY)
    stored = {s.checkin_id: s.ticket for s in store.checkins()}
    assert {cid: int(t) for t, cid in committed}.items() <= stored.items()
    # Nothing half-written: tickets are contiguous, each with its outbox and audit entry.
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
    assert store.outbox_counts()["pending"] == len(stored)
    assert store.verify_audit() == len(stored)
    # The store keeps working after the crash.
    worker = _worker(path, 1, 99)
    out, _ = worker.communicate(timeout=60)
    assert int(out.split()[0]) == len(stored) + 1
