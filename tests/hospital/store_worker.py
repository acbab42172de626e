"""A check-in process for the multi-process tests: ``python -m tests.hospital.store_worker
PATH COUNT SEED``. Prints ``ticket checkin_id`` after each committed check-in."""

from __future__ import annotations

import sys

from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus
from simulators.bhxh_gateway import generate_people

from .helpers import KEY, request_for


def main(path: str, count: int, seed: int) -> None:
    store = Store(path, KEY)
    for person in generate_people(count, seed):
        visit = store.check_in(request_for(person, "K01"), InsuranceStatus.TO_VERIFY_AT_COUNTER)
        print(visit.ticket, visit.checkin_id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
