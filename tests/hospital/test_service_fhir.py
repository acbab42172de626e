"""CheckInService end to end with the FHIR R4 registrar against the simulated HIS's FHIR
endpoint over real HTTP, and ``outbox retry`` with ``[his] kind = "fhir"`` through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hospital_adapter.checkin import RegistrationStatus
from hospital_adapter.cli import main
from hospital_adapter.deadline import Deadline
from hospital_adapter.his import FhirRegistrar
from hospital_adapter.outbox import OutboxWorker, RetrySchedule
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, VisitKind
from simulators.bhxh_gateway import Dataset
from simulators.his import HisFault, RunningHis

from .conftest import ClientFactory
from .helpers import KEY, request_for
from .test_cli import ENV

NOW_SCHEDULE = RetrySchedule(base=timedelta(0))


@pytest.fixture
def registrar(his: RunningHis) -> Iterator[FhirRegistrar]:
    fhir = FhirRegistrar(his.fhir.url, timeout_s=2.0)
    yield fhir
    fhir.close()


@pytest.fixture
def service(
    make_client: ClientFactory, registrar: FhirRegistrar, store: Store
) -> tuple[CheckInService, OutboxWorker]:
    worker = OutboxWorker(store, registrar, schedule=NOW_SCHEDULE, lease=timedelta(seconds=30))
    return CheckInService(make_client(), registrar, store, outbox=worker), worker


def test_insured_and_self_pay_check_ins_are_registered(
    dataset: Dataset, his: RunningHis, store: Store, service: tuple[CheckInService, OutboxWorker]
) -> None:
    checkin, _ = service
    insured_record = dataset.with_outcome("004")
    insured = checkin.check_in(request_for(insured_record, "K02"), Deadline.after(10))
    assert (insured.ticket, insured.insurance, insured.insurance_code) == (
        1, InsuranceStatus.VERIFIED, "004",
    )  # fmt: skip
    assert insured.registration is RegistrationStatus.DELIVERED
    registration = his.state.registrations[insured.checkin_id]  # Encounter identifier
    assert (registration.id_number, registration.department) == (
        insured_record.person.id_number,
        "K02",
    )
    assert (registration.insured, registration.card_number) == (
        True,
        insured_record.new_card_number,  # 004: the new card is billed
    )
    self_pay_record = dataset.with_outcome("010")
    self_pay = checkin.check_in(
        request_for(self_pay_record, "K02", VisitKind.SELF_PAY), Deadline.after(10)
    )
    assert (self_pay.ticket, self_pay.insurance, self_pay.registration) == (
        2, InsuranceStatus.NOT_APPLICABLE, RegistrationStatus.DELIVERED,
    )  # fmt: skip
    assert his.state.registrations[self_pay.checkin_id].insured is False
    # The same patient again (a second visit): the Patient is found, a new Encounter made.
    again = checkin.check_in(
        request_for(self_pay_record, "K03", VisitKind.SELF_PAY), Deadline.after(10)
    )
    assert again.registration is RegistrationStatus.DELIVERED
    fhir = his.fhir.store
    assert (fhir.count("Patient"), fhir.count("Coverage"), fhir.count("Encounter")) == (2, 1, 3)
    assert his.state.duplicates == 0
    assert store.outbox_counts() == {"pending": 0, "delivered": 3, "rejected": 0}


def test_his_down_then_back_delivers_each_exactly_once(
    dataset: Dataset, his: RunningHis, store: Store, service: tuple[CheckInService, OutboxWorker]
) -> None:
    checkin, worker = service
    records = [r for r in dataset.records if r.scenario.outcome in ("000", "001", "010")]
    his.state.down = True  # every request is read, then the connection closed unanswered
    results = [checkin.check_in(request_for(r), Deadline.after(5)) for r in records]
    assert {r.registration for r in results} == {RegistrationStatus.QUEUED}
    assert [r.ticket for r in results] == list(range(1, len(records) + 1))
    assert worker.deliver_due().retrying == len(records)  # still down: nothing lost
    his.state.down = False
    report = worker.deliver_due()
    assert (report.delivered, report.retrying, report.rejected) == (len(records), 0, 0)
    assert worker.deliver_due().delivered == 0
    assert set(his.state.registrations) == {r.checkin_id for r in results}
    assert his.state.duplicates == 0
    assert his.fhir.store.count("Encounter") == len(records)
    assert store.outbox_counts() == {"pending": 0, "delivered": len(records), "rejected": 0}


def test_lost_response_is_resent_and_conditional_create_makes_nothing_twice(
    dataset: Dataset, his: RunningHis, store: Store, make_client: ClientFactory
) -> None:
    registrar = FhirRegistrar(his.fhir.url, timeout_s=0.3)
    worker = OutboxWorker(store, registrar, schedule=NOW_SCHEDULE)
    checkin = CheckInService(make_client(), registrar, store, outbox=worker)
    his.state.hang_s = 1.0
    his.state.inject(HisFault.HANG)  # the HIS creates the resources, the answer comes too late
    record = dataset.with_outcome("000")
    result = checkin.check_in(request_for(record), Deadline.after(5))
    assert result.registration is RegistrationStatus.QUEUED
    assert his.fhir.store.count("Encounter") == 1
    assert worker.deliver_due().delivered == 1
    fhir = his.fhir.store
    assert (fhir.count("Patient"), fhir.count("Coverage"), fhir.count("Encounter")) == (1, 1, 1)
    assert list(his.state.registrations) == [result.checkin_id]
    assert his.state.duplicates == 1  # the resent Encounter was found, not created
    registrar.close()


def test_4xx_is_rejected_and_503_queued(
    dataset: Dataset, his: RunningHis, store: Store, service: tuple[CheckInService, OutboxWorker]
) -> None:
    checkin, worker = service
    his.state.inject(HisFault.ERROR)  # 422 Unprocessable Entity with an OperationOutcome
    rejected = checkin.check_in(
        request_for(dataset.records[0], kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    his.state.inject(HisFault.REJECT)  # 503: try again later
    queued = checkin.check_in(
        request_for(dataset.records[1], kind=VisitKind.SELF_PAY), Deadline.after(5)
    )
    assert (rejected.registration, queued.registration) == (
        RegistrationStatus.REJECTED,
        RegistrationStatus.QUEUED,
    )
    assert (rejected.ticket, queued.ticket) == (1, 2)  # the tickets stand either way
    assert store.registration_status(rejected.checkin_id) == "rejected"
    assert worker.deliver_due().delivered == 1  # only the 503 is retried by the worker
    assert list(his.state.registrations) == [queued.checkin_id]
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 1}
    assert [e.action for e in store.audit_entries()].count("rejected") == 1


def test_cli_outbox_retry_with_fhir(tmp_path: Path, dataset: Dataset, his: RunningHis) -> None:
    db = tmp_path / "kiosk.sqlite3"
    store = Store(db, KEY)
    visits = [
        store.check_in(request_for(r), InsuranceStatus.TO_VERIFY_AT_COUNTER)
        for r in dataset.records[:4]
    ]
    store.mark_failed(visits[3].message_id, "HisRejectedError 422", None)  # rejected earlier
    store.close()
    config = tmp_path / "hospital.toml"
    config.write_text(
        f'[store]\npath = "{db}"\n[his]\nkind = "fhir"\nurl = "{his.fhir.url}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    retry = ["--config", str(config), "outbox", "retry"]
    his.state.inject(HisFault.ERROR)  # the first message sent is refused with 422
    first = runner.invoke(main, retry, env=ENV)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "re-queued 1; delivered 3, retrying 0, rejected 1"
    second = runner.invoke(main, retry, env=ENV)  # staff fixed it: re-queue and send
    assert second.output.strip() == "re-queued 1; delivered 1, retrying 0, rejected 0"
    assert set(his.state.registrations) == {v.checkin_id for v in visits}
    assert his.state.duplicates == 0
    store = Store(db, KEY)
    late = store.check_in(request_for(dataset.records[4]), InsuranceStatus.TO_VERIFY_AT_COUNTER)
    store.close()
    his.state.down = True
    down = runner.invoke(main, retry, env=ENV)
    assert down.exit_code == 1
    assert down.output.strip() == "re-queued 0; delivered 0, retrying 1, rejected 0"
    assert late.checkin_id not in his.state.registrations
