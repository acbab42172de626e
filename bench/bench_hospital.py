"""Hospital adapter figures: store check-ins per second, gateway lookup latency with and
without the cache, against the simulated BHXH gateway on 127.0.0.1.

Run: ``python bench/bench_hospital.py [--checkins N] [--lookups N] [--latency SECONDS]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.gateway import GatewayClient, LookupQuery
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, Priority, VisitKind, VisitRequest
from simulators.bhxh_gateway import DEFAULT_ACCOUNTS, Dataset, generate_people, serve

KEY = bytes(32)


def bench_store(count: int) -> float:
    """Seconds to store ``count`` check-ins, one transaction each."""
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
    return elapsed


@dataclass(frozen=True)
class Latency:
    """Lookup latency in milliseconds over the samples."""

    label: str
    median_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, label: str, samples: list[float]) -> Latency:
        ms = sorted(s * 1000 for s in samples)
        return cls(label, statistics.median(ms), ms[int(len(ms) * 0.95) - 1], ms[-1])

    def __str__(self) -> str:
        return f"median {self.median_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, max {self.max_ms:.2f} ms"


def bench_lookup(count: int, latency: float) -> list[Latency]:
    """Lookup latency without and with the client's cache."""
    dataset = Dataset.generated()
    record = dataset.with_outcome("000")
    query = LookupQuery(
        record.person.id_number, record.person.full_name, BirthDate.of(record.person.date_of_birth)
    )
    account = GatewayAccount("kiosk", DEFAULT_ACCOUNTS["kiosk"], "Cán Bộ", "079190000001")
    out = []
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
            out.append(Latency.of(label, samples))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkins", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="added per gateway call")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    args = parser.parse_args()
    elapsed = bench_store(args.checkins)
    if not args.json:
        print(
            f"store: {args.checkins} check-ins in {elapsed:.2f} s"
            f" = {args.checkins / elapsed:.0f} check-ins/s"
        )
    lookups = bench_lookup(args.lookups, args.latency)
    if args.json:
        store = {"checkins": args.checkins, "seconds": elapsed, "per_s": args.checkins / elapsed}
        figures = {"lookups": args.lookups, "latency_s": args.latency}
        print(
            json.dumps({"store": store, "lookup": figures | {"rows": [asdict(x) for x in lookups]}})
        )
        return
    for lookup in lookups:
        print(f"lookup {lookup.label} (gateway latency {args.latency * 1000:.0f} ms): {lookup}")


if __name__ == "__main__":
    main()
