"""Hospital adapter figures: store check-ins per second, gateway lookup latency with and
without the cache, against the simulated BHXH gateway on 127.0.0.1.

Run: ``python bench/bench_hospital.py [--checkins N] [--lookups N] [--latency SECONDS]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.gateway import GatewayClient, LookupQuery
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, Priority, VisitKind, VisitRequest
from simulators.bhxh_gateway import DEFAULT_ACCOUNTS, Dataset, generate_people, serve

KEY = bytes(32)


def bench_store(count: int) -> None:
    people = generate_people(count, seed=1)
    requests = [
        VisitRequest(
            PatientIdentity(p.id_number, p.full_name, BirthDate.of(p.date_of_birth), Sex(p.sex)),
            f"K0{i % 4}",
            VisitKind.INSURED,
            Priority.NONE,
        )
        for i, p in enumerate(people)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3", KEY)
        start = time.perf_counter()
        for request in requests:
            store.check_in(request, InsuranceStatus.VERIFIED)
        elapsed = time.perf_counter() - start
        store.close()
    print(f"store: {count} check-ins in {elapsed:.2f} s = {count / elapsed:.0f} check-ins/s")


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms"


def bench_lookup(count: int, latency: float) -> None:
    dataset = Dataset.generated()
    record = dataset.with_outcome("000")
    query = LookupQuery(
        record.person.id_number, record.person.full_name, BirthDate.of(record.person.date_of_birth)
    )
    account = GatewayAccount("kiosk", DEFAULT_ACCOUNTS["kiosk"], "Cán Bộ", "079190000001")
    with serve(dataset) as gateway:
        gateway.simulator.latency = latency
        for label, ttl in (("without cache", 0.0), ("with cache", 300.0)):
            settings = GatewaySettings(url=gateway.url, cache_ttl_s=ttl)
            with GatewayClient(settings, account) as client:
                client.lookup(query)  # token and connection warm-up
                samples = []
                for _ in range(count):
                    start = time.perf_counter()
                    client.lookup(query)
                    samples.append(time.perf_counter() - start)
            print(
                f"lookup {label} (gateway latency {latency * 1000:.0f} ms): {_percentiles(samples)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkins", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="added per gateway call")
    args = parser.parse_args()
    bench_store(args.checkins)
    bench_lookup(args.lookups, args.latency)


if __name__ == "__main__":
    main()
