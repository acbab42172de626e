"""The outbox worker's loop in a background thread, as the kiosk runs it: delivery after an
HIS outage (MLLP and FHIR over real sockets), prompt stop, survival of a failing pass."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest

from hospital_adapter.checkin import RegistrationStatus
from hospital_adapter.deadline import Deadline
from hospital_adapter.his import FhirRegistrar, HisRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.outbox import OutboxWorker, RetrySchedule
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, Visit, VisitKind, utc_now
from simulators.bhxh_gateway import Dataset
from simulators.his import RunningHis

from .conftest import ClientFactory
from .helpers import free_port, request_for, wait_until

FAST_RETRY = RetrySchedule(base=timedelta(milliseconds=20), cap=timedelta(milliseconds=100))


class CountingRegistrar:
    """Counts the sends it passes on to ``inner``."""

    def __init__(self, inner: HisRegistrar) -> None:
        self.inner = inner
        self.calls = 0

    def register(self, visit: Visit, deadline: Deadline) -> None:
        self.calls += 1
        self.inner.register(visit, deadline)


@pytest.mark.parametrize("kind", ["hl7", "fhir"])
def test_worker_thread_delivers_what_was_queued_while_the_his_was_down(
    kind: str, dataset: Dataset, make_client: ClientFactory, store: Store
) -> None:
    mllp_port, fhir_port = free_port(), free_port()  # nothing listens there yet
    inner: HisRegistrar = (
        MllpRegistrar("127.0.0.1", mllp_port, MessageHeader(), timeout_s=1.0)
        if kind == "hl7"
        else FhirRegistrar(f"http://127.0.0.1:{fhir_port}/fhir", timeout_s=1.0)
    )
    registrar = CountingRegistrar(inner)
    worker = OutboxWorker(store, registrar, schedule=FAST_RETRY, send_timeout_s=1.0)
    service = CheckInService(make_client(), registrar, store, outbox=worker)
    records = dataset.records[:6]
    kinds = [VisitKind.INSURED, VisitKind.SELF_PAY] * 3
    with worker.start(interval_s=0.02) as thread:
        results = [
            service.check_in(request_for(r, kind=k), Deadline.after(5))
            for r, k in zip(records, kinds, strict=True)
        ]
        assert {r.registration for r in results} == {RegistrationStatus.QUEUED}
        # The worker keeps trying while the HIS is down (each message at least once more).
        assert wait_until(lambda: registrar.calls >= 2 * len(records))
        assert store.outbox_counts()["pending"] == len(records)
        with RunningHis(mllp_port=mllp_port, fhir_port=fhir_port) as his:
            assert wait_until(lambda: store.outbox_counts()["delivered"] == len(records))
            start = time.monotonic()
            assert thread.stop(timeout_s=3.0)
            stopped_in = time.monotonic() - start
            assert not thread.running
    keys = {r.checkin_id[:20] if kind == "hl7" else r.checkin_id for r in results}
    assert set(his.state.registrations) == keys
    assert his.state.duplicates == 0
    assert store.outbox_counts() == {"pending": 0, "delivered": len(records), "rejected": 0}
    assert stopped_in < 0.5  # an idle worker stops at once


class SlowHis:
    """Every send takes until its deadline: a HIS that accepts but is very slow."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.calls = 0

    def register(self, visit: Visit, deadline: Deadline) -> None:
        self.calls += 1
        self.started.set()
        threading.Event().wait(deadline.remaining())


def test_stop_ends_the_pass_after_the_send_in_flight(store: Store, dataset: Dataset) -> None:
    visits = [
        store.check_in(request_for(r), InsuranceStatus.TO_VERIFY_AT_COUNTER)
        for r in dataset.records[:5]
    ]
    his = SlowHis()
    worker = OutboxWorker(store, his, send_timeout_s=0.3, lease=timedelta(minutes=5))
    thread = worker.start(interval_s=0.01)
    assert his.started.wait(5.0)
    start = time.monotonic()
    assert thread.stop(timeout_s=5.0)
    assert time.monotonic() - start < 0.8  # one send (0.3 s), not the five of the pass
    assert his.calls == 1
    assert store.outbox_counts() == {"pending": 4, "delivered": 1, "rejected": 0}
    # The four claimed but unsent messages were released, not left leased for 5 minutes.
    released = store.claim_due(utc_now(), timedelta(seconds=1))
    assert [m.key for m in released] == [v.message_id for v in visits[1:]]


class BrokenOnceHis:
    """Fails the first send with an unexpected error whose text holds personal data."""

    def __init__(self) -> None:
        self.visits: list[str] = []

    def register(self, visit: Visit, deadline: Deadline) -> None:
        if not self.visits:
            self.visits.append("failed")
            raise RuntimeError(f"bug near {visit.identity.id_number}")
        self.visits.append(visit.message_id)


def test_worker_survives_an_unexpected_error(
    store: Store, dataset: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    record = dataset.records[0]
    visit = store.check_in(request_for(record), InsuranceStatus.TO_VERIFY_AT_COUNTER)
    his = BrokenOnceHis()
    worker = OutboxWorker(store, his, lease=timedelta(milliseconds=50))
    with caplog.at_level(logging.INFO, logger="hospital_adapter"), worker.start(0.01):
        assert wait_until(lambda: store.outbox_counts()["delivered"] == 1)
    assert his.visits == ["failed", visit.message_id]
    assert "outbox pass failed unexpectedly: RuntimeError" in caplog.text
    assert record.person.id_number not in caplog.text
