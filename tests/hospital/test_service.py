"""CheckInService end to end: simulated gateway and HIS over real sockets, SQLite store."""

from __future__ import annotations

import time
from datetime import timedelta

from hospital_adapter.checkin import COUNTER_NOTE, CheckInResult, RegistrationStatus
from hospital_adapter.deadline import Deadline
from hospital_adapter.gateway import Decision
from hospital_adapter.his import MessageHeader, MllpRegistrar
from hospital_adapter.outbox import OutboxWorker, RetrySchedule
from hospital_adapter.service import REPEAT_WINDOW, CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, VisitKind
from simulators.bhxh_gateway import Dataset, Fault, RunningGateway
from simulators.his import HisFault, RunningHis

from .conftest import ClientFactory
from .helpers import request_for

NOW_SCHEDULE = RetrySchedule(base=timedelta(0))


def _service(
    make_client: ClientFactory,
    his: RunningHis,
    store: Store,
    *,
    his_timeout: float = 2.0,
    repeat_window: timedelta = REPEAT_WINDOW,
    **gateway: float,
) -> tuple[CheckInService, OutboxWorker]:
    host, port = his.mllp.address
    registrar = MllpRegistrar(
        host, port, MessageHeader("KIOSK", "79024", "HIS", "79024"), timeout_s=his_timeout
    )
    worker = OutboxWorker(store, registrar, schedule=NOW_SCHEDULE, lease=timedelta(seconds=30))
    client = make_client(**gateway)
    service = CheckInService(client, registrar, store, outbox=worker, repeat_window=repeat_window)
    return service, worker


def test_insured_check_in_verified_and_delivered(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, _ = _service(make_client, his, store)
    record = dataset.with_outcome("003")
    result = service.check_in(request_for(record, "K05"), Deadline.after(10))
    assert (result.ticket, result.department) == (1, "K05")
    assert (result.insurance, result.insurance_code) == (InsuranceStatus.VERIFIED, "003")
    assert (result.registration, result.counter_note) == (RegistrationStatus.DELIVERED, "")
    [registration] = his.state.registrations.values()
    assert registration.card_number == record.new_card_number  # 003: the new card is billed
    assert registration.id_number == record.person.id_number
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 0}
    assert store.visit(result.checkin_id).coverage is not None


def test_lookup_for_the_choice_screen(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, _ = _service(make_client, his, store)
    check = service.lookup_insurance(
        request_for(dataset.with_outcome("010")).identity, Deadline.after(5)
    )
    assert (check.decision, check.degraded) == (Decision.SELF_PAY, False)
    assert check.lookup is not None and check.lookup.raw_code == "010"
    result = service.check_in(
        request_for(dataset.with_outcome("010"), kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    assert (result.insurance, result.registration) == (
        InsuranceStatus.NOT_APPLICABLE,
        RegistrationStatus.DELIVERED,
    )


def test_unlinked_patient_goes_to_counter_with_a_ticket(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, _ = _service(make_client, his, store)
    result = service.check_in(
        request_for(dataset.with_outcome("000", linked=False)), Deadline.after(5)
    )
    assert (result.insurance, result.insurance_code) == (
        InsuranceStatus.TO_VERIFY_AT_COUNTER,
        "050",
    )
    assert result.counter_note == COUNTER_NOTE
    assert result.registration is RegistrationStatus.DELIVERED


def test_outage_then_recovery_delivers_everything_exactly_once(
    dataset: Dataset,
    gateway: RunningGateway,
    make_client: ClientFactory,
    his: RunningHis,
    store: Store,
) -> None:
    service, worker = _service(
        make_client, his, store, attempts=1, breaker_threshold=3, breaker_reset_s=0.5,
        repeat_window=timedelta(0),  # the same people, checked in again as new visits
    )  # fmt: skip
    records = [r for r in dataset.records if r.scenario.outcome == "000" and r.scenario.linked]
    gateway.simulator.down = True
    his.state.down = True
    results = [service.check_in(request_for(r), Deadline.after(3)) for r in records * 3]
    assert [r.ticket for r in results] == list(range(1, 7))
    assert {r.insurance for r in results} == {InsuranceStatus.TO_VERIFY_AT_COUNTER}
    assert {r.registration for r in results} == {RegistrationStatus.QUEUED}
    assert gateway.simulator.stats.lookups == 0  # the breaker stopped calling after 3
    assert store.outbox_counts()["pending"] == 6
    gateway.simulator.down = False
    his.state.down = False
    time.sleep(0.5)  # the breaker half-opens
    later = service.check_in(request_for(records[0]), Deadline.after(3))
    assert (later.insurance, later.registration) == (
        InsuranceStatus.VERIFIED,
        RegistrationStatus.DELIVERED,
    )
    report = worker.deliver_due()
    assert (report.delivered, report.retrying, report.rejected) == (6, 0, 0)
    assert worker.deliver_due().delivered == 0
    assert len(his.state.registrations) == 7
    assert his.state.duplicates == 0
    assert store.outbox_counts() == {"pending": 0, "delivered": 7, "rejected": 0}
    assert store.verify_audit() == 7 + 7


def test_lost_ack_is_resent_and_registered_once(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, worker = _service(make_client, his, store, his_timeout=0.3)
    his.state.hang_s = 1.0
    his.state.inject(HisFault.HANG)
    result = service.check_in(
        request_for(dataset.records[0], kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    assert result.registration is RegistrationStatus.QUEUED
    assert worker.deliver_due().delivered == 1
    assert len(his.state.registrations) == 1
    assert his.state.duplicates == 1


def test_his_ae_rejects_and_ar_queues(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, worker = _service(make_client, his, store)
    his.state.inject(HisFault.ERROR)
    ae = service.check_in(
        request_for(dataset.records[0], kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    his.state.inject(HisFault.REJECT)
    ar = service.check_in(
        request_for(dataset.records[1], kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    assert (ae.registration, ar.registration) == (
        RegistrationStatus.REJECTED,
        RegistrationStatus.QUEUED,
    )
    assert (ae.ticket, ar.ticket) == (1, 2)  # the ticket stands either way
    assert worker.deliver_due().delivered == 1
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 1}
    assert store.retry_rejected() == 1
    assert worker.deliver_due().delivered == 1
    assert len(his.state.registrations) == 2


def test_slow_gateway_does_not_block_past_the_deadline(
    dataset: Dataset,
    gateway: RunningGateway,
    make_client: ClientFactory,
    his: RunningHis,
    store: Store,
) -> None:
    service, _ = _service(make_client, his, store, timeout_s=30.0, attempts=3)
    gateway.simulator.latency = 5.0
    start = time.monotonic()
    result = service.check_in(request_for(dataset.with_outcome("000")), Deadline.after(2.0))
    elapsed = time.monotonic() - start
    assert elapsed < 2.5
    assert result.insurance is InsuranceStatus.TO_VERIFY_AT_COUNTER
    assert result.registration is RegistrationStatus.DELIVERED  # the HIS still got its second


def test_persistent_101_degrades(
    dataset: Dataset,
    gateway: RunningGateway,
    make_client: ClientFactory,
    his: RunningHis,
    store: Store,
) -> None:
    service, _ = _service(make_client, his, store, attempts=2)
    gateway.simulator.inject(Fault.CODE_101, count=2)
    result = service.check_in(request_for(dataset.with_outcome("000")), Deadline.after(5))
    assert (result.insurance, result.insurance_code) == (
        InsuranceStatus.TO_VERIFY_AT_COUNTER,
        "101",
    )


def test_garbled_gateway_degrades_and_refused_account_is_configuration(
    dataset: Dataset,
    gateway: RunningGateway,
    make_client: ClientFactory,
    his: RunningHis,
    store: Store,
) -> None:
    service, _ = _service(make_client, his, store)
    identity = request_for(dataset.with_outcome("000")).identity
    gateway.simulator.inject(Fault.GARBAGE)
    check = service.lookup_insurance(identity, Deadline.after(5))
    assert (check.decision, check.lookup, check.degraded) == (Decision.RETRY, None, True)
    gateway.simulator.accounts["kiosk"] = "rotated"
    check = service.lookup_insurance(identity, Deadline.after(5))
    assert (check.decision, check.lookup) == (Decision.CONFIGURATION_ERROR, None)


def test_on_stored_hears_of_the_check_in_before_the_his_is_asked(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service, _ = _service(make_client, his, store)
    heard: list[tuple[int, RegistrationStatus, int]] = []

    def stored(result: CheckInResult) -> None:
        heard.append((result.ticket, result.registration, len(his.state.registrations)))

    request = request_for(dataset.with_outcome("000"), "K01", VisitKind.SELF_PAY)
    result = service.check_in(request, Deadline.after(10), on_stored=stored)
    assert heard == [(1, RegistrationStatus.QUEUED, 0)]  # the HIS had nothing yet
    assert (result.ticket, result.registration) == (1, RegistrationStatus.DELIVERED)
    assert len(his.state.registrations) == 1
    again = service.check_in(request, Deadline.after(10), on_stored=stored)
    assert again.repeated and len(heard) == 1, "a re-tap is not stored again: nothing to hear"
