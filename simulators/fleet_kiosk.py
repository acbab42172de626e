"""One kiosk of many under load: check distinct synthetic patients in through a
:class:`~hospital_adapter.store.fleet.FleetStore`, print (record) each ticket, then hand
the whole journal on to the hospital's store before exiting.

Run::

    CCCD_HOSPITAL_KEY=<64 hex> python -m simulators.fleet_kiosk --hospital postgresql://...
        --journal kiosk1.sqlite3 --kiosk K1 --departments K01,K03 --count 250
        --his-host 127.0.0.1 --his-port 2575 --seed 1 --out results.jsonl

Every visit is self-pay (no BHXH gateway); registrations go to the HIS over MLLP. Each
check-in appends one JSON line to ``--out``, flushed and fsynced before the next patient
(the ticket printed): ``checkin_id``, ``department``, ``ticket``, ``service_date``,
``registration`` and ``elapsed_ms``, or ``{"error": <type>}`` for a
:class:`~hospital_adapter.errors.StoreError`. ``--pause-s`` paces the patients: a kiosk
numbers from blocks of 20 leased ahead, so a load much faster than real patients outruns
its top-ups when the hospital's store is briefly away. Nothing personal is written or
logged.

Exit status: 0 once the journal is handed on, 1 if it could not be within ``--drain-s``,
2 if no queue numbers could be leased within ``--lease-wait-s``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import IO

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import StoreError
from hospital_adapter.gateway.wire import InsuranceLookup, LookupQuery
from hospital_adapter.his import MessageHeader, MllpRegistrar
from hospital_adapter.identity import BirthDate, IdentityTrust, PatientIdentity, Sex
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.service import CheckInService
from hospital_adapter.store import FleetSettings, FleetStore
from hospital_adapter.visit import VIETNAM_TIME, Priority, VisitKind, VisitRequest, utc_now

log = logging.getLogger("simulators.fleet_kiosk")

KEY_ENV = "CCCD_HOSPITAL_KEY"
PRIORITIES = tuple(p for p in Priority if p is not Priority.NONE)
PRIORITY_SHARE = 0.2
"""About one patient in five gets a priority class."""


class NoGateway:
    """The gateway port for self-pay visits only: any lookup is a bug of the load."""

    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup:
        raise RuntimeError("a self-pay load never asks the BHXH gateway")


def patient(seed: int, index: int, rng: random.Random) -> PatientIdentity:
    """A synthetic patient, distinct for each (``seed`` mod 100, ``index`` < 10,000)."""
    year = rng.randint(1930, 1999)
    sex = rng.choice((Sex.MALE, Sex.FEMALE))
    century = 0 if sex is Sex.MALE else 1  # the 1900s (docs/domain.md §2.6)
    id_number = f"079{century}{year % 100:02d}{seed % 100:02d}{index:04d}"
    return PatientIdentity(
        id_number=id_number,
        full_name="Bệnh Nhân Thử",
        date_of_birth=BirthDate(year, rng.randint(1, 12), rng.randint(1, 28)),
        sex=sex,
        trust=IdentityTrust.CHIP,
    )


def requests(seed: int, count: int, departments: Sequence[str]) -> list[VisitRequest]:
    """``count`` self-pay visits of distinct patients, departments in turn."""
    if count > 10_000:
        raise SystemExit("--count: at most 10000 patients per kiosk")
    rng = random.Random(seed)
    out = []
    for index in range(count):
        priority = rng.choice(PRIORITIES) if rng.random() < PRIORITY_SHARE else Priority.NONE
        department = departments[index % len(departments)]
        out.append(
            VisitRequest(patient(seed, index, rng), department, VisitKind.SELF_PAY, priority)
        )
    return out


def record(out: IO[str], line: dict[str, object]) -> None:
    """Append one JSON line, durable before the next patient."""
    out.write(json.dumps(line) + "\n")
    out.flush()
    os.fsync(out.fileno())


def wait_for(condition: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> bool:
    """Poll ``condition()`` until it holds or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(poll_s)
    return True


def _today() -> date:
    return utc_now().astimezone(VIETNAM_TIME).date()


def run(args: argparse.Namespace, key: bytes) -> int:
    departments = tuple(d for d in args.departments.split(",") if d)
    settings = FleetSettings(
        kiosk=args.kiosk,
        departments=departments,
        block=20,
        low_water=10,
        retry_after_s=0.5,
        interval_s=0.2,
    )
    fleet = FleetStore(args.hospital, args.journal, key, settings).start()
    registrar = MllpRegistrar(
        args.his_host, args.his_port, MessageHeader("KIOSK", "79024", "HIS", "79024"),
        timeout_s=2.0,
    )  # fmt: skip
    # A short claim lease: a message whose delivery could not be recorded (the hospital's
    # store unreachable at that moment) is due again soon, not a minute later.
    worker = OutboxWorker(fleet, registrar, lease=timedelta(seconds=10), send_timeout_s=2.0)
    thread = worker.start(interval_s=0.2)
    service = CheckInService(NoGateway(), registrar, fleet, outbox=worker)
    try:
        leased = wait_for(
            lambda: all(fleet.numbers_left(d, _today()) > 0 for d in departments),
            args.lease_wait_s,
        )
        if not leased:
            log.error("kiosk %s: no queue numbers leased in %.0f s", args.kiosk, args.lease_wait_s)
            return 2
        errors = 0
        with open(args.out, "a", encoding="utf-8") as out:
            for request in requests(args.seed, args.count, departments):
                time.sleep(args.pause_s)
                start = time.perf_counter()
                try:
                    result = service.check_in(request, Deadline.after(5))
                except StoreError as exc:
                    errors += 1
                    log.warning("check-in refused: %s", type(exc).__name__)
                    record(out, {"error": type(exc).__name__})
                    continue
                elapsed_ms = (time.perf_counter() - start) * 1000
                record(
                    out,
                    {
                        "checkin_id": result.checkin_id,
                        "department": result.department,
                        "ticket": result.ticket,
                        "service_date": _today().isoformat(),
                        "registration": result.registration.value,
                        "elapsed_ms": round(elapsed_ms, 2),
                    },
                )
        handed_on = wait_for(lambda: not fleet.journal_store.journal(1), args.drain_s, 0.1)
        log.info(
            "kiosk %s: %d check-ins, %d refused, journal %s",
            args.kiosk, args.count - errors, errors,
            "handed on" if handed_on else "NOT handed on",
        )  # fmt: skip
        return 0 if handed_on else 1
    finally:
        thread.stop(timeout_s=10)
        fleet.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.fleet_kiosk", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--hospital", required=True, help="the hospital's postgresql:// URL")
    parser.add_argument("--journal", required=True, help="this kiosk's journal (SQLite file)")
    parser.add_argument("--kiosk", required=True, help="this kiosk's name")
    parser.add_argument("--departments", default="K01,K03", help="comma-separated codes")
    parser.add_argument("--count", type=int, default=250, help="patients to check in")
    parser.add_argument("--his-host", default="127.0.0.1")
    parser.add_argument("--his-port", type=int, required=True, help="the HIS's MLLP port")
    parser.add_argument(
        "--seed", type=int, default=0, help="numbers this kiosk's patients (0-99: one per kiosk)"
    )
    parser.add_argument("--out", required=True, help="results, one JSON line per check-in")
    parser.add_argument(
        "--pause-s", type=float, default=0.0, help="between patients (one at the screen)"
    )
    parser.add_argument("--lease-wait-s", type=float, default=30.0)
    parser.add_argument("--drain-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("simulators.fleet_kiosk").setLevel(logging.INFO)
    try:
        key = bytes.fromhex(os.environ.get(KEY_ENV, ""))
    except ValueError:
        key = b""
    if len(key) != 32:
        parser.error(f"{KEY_ENV} must hold the 32-byte store key as 64 hex digits")
    return run(args, key)


if __name__ == "__main__":
    sys.exit(main())
