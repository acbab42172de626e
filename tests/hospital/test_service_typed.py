"""A typed number's BHYT lookup with the HIS's demographics (issue #15: every way in ends
with a lookup): the simulated HIS (MLLP, IHE PDQ) and gateway over real sockets, SQLite."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import InvalidInputError
from hospital_adapter.gateway import Decision
from hospital_adapter.his import InMemoryHis, KnownPatient, MessageHeader, MllpRegistrar
from hospital_adapter.identity import BirthDate, IdentityTrust, PatientIdentity, Sex
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, Priority, VisitKind, VisitRequest
from simulators.bhxh_gateway import Dataset, InsuranceRecord, RunningGateway
from simulators.his import HisFault, RunningHis, known_patient

from .conftest import ClientFactory


def _service(make_client: ClientFactory, his: RunningHis, store: Store) -> CheckInService:
    host, port = his.mllp.address
    registrar = MllpRegistrar(host, port, MessageHeader("KIOSK", "79024", "HIS", "79024"))
    return CheckInService(make_client(), registrar, store)


def _preload(his: RunningHis, record: InsuranceRecord, *, born: str = "") -> None:
    person = record.person
    sex = "M" if person.sex == "Nam" else "F"
    birth = born or person.date_of_birth.strftime("%Y%m%d")
    his.state.preload(
        known_patient(person.id_number, person.full_name, birth, sex, record.card_number)
    )


def _typed(record: InsuranceRecord) -> VisitRequest:
    identity = PatientIdentity.typed(record.person.id_number)
    return VisitRequest(identity, "K01", VisitKind.INSURED, Priority.NONE)


def test_typed_number_of_a_returning_patient_is_looked_up_with_the_his_name(
    dataset: Dataset,
    make_client: ClientFactory,
    gateway: RunningGateway,
    his: RunningHis,
    store: Store,
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    _preload(his, record)
    request = _typed(record)
    check = service.lookup_insurance(request.identity, Deadline.after(5))
    assert (check.decision, check.degraded, check.from_his) == (Decision.INSURED, False, True)
    [body] = gateway.simulator.stats.lookup_bodies
    assert (body["maThe"], body["hoTen"], body["ngaySinh"]) == (
        record.card_number,
        record.person.full_name,
        record.person.date_of_birth.strftime("%d/%m/%Y"),
    )
    result = service.check_in(request, Deadline.after(5), check)
    assert (result.insurance, result.insurance_code, result.counter_note) == (
        InsuranceStatus.VERIFIED,
        "000",
        "",
    )
    [registration] = his.state.registrations.values()
    assert (registration.id_number, registration.family_name, registration.identity) == (
        record.person.id_number,
        "",
        "NHAP",
    ), "registered as typed: the HIS's name is not sent back as the kiosk's"
    assert (registration.insured, registration.card_number) == (True, record.card_number)
    visit = store.visit(result.checkin_id)
    assert (visit.identity.full_name, visit.identity.trust) == ("", IdentityTrust.TYPED)
    assert visit.demographics_from_his, "the visit says its BHYT check used the HIS's record"
    [entry] = [e for e in store.audit_entries() if e.action == "checkin"]
    assert entry.detail == (
        f"department=K01 ticket={result.ticket} insurance=verified identity=typed demographics=his"
    )


def test_check_in_without_a_prior_lookup_asks_the_his_too(
    dataset: Dataset, make_client: ClientFactory, his: RunningHis, store: Store
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    _preload(his, record)
    result = service.check_in(_typed(record), Deadline.after(5))
    assert result.insurance is InsuranceStatus.VERIFIED
    assert his.state.queries == 1


def test_a_birth_year_the_digits_do_not_encode_goes_to_the_counter(
    dataset: Dataset,
    make_client: ClientFactory,
    gateway: RunningGateway,
    his: RunningHis,
    store: Store,
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    other_year = str(record.person.date_of_birth.year + 1)
    _preload(his, record, born=other_year)
    check = service.lookup_insurance(_typed(record).identity, Deadline.after(5))
    assert (check.decision, check.lookup, check.degraded, check.from_his) == (
        Decision.GO_TO_COUNTER,
        None,
        True,
        False,
    )
    assert his.state.queries == 1
    assert gateway.simulator.stats.lookups == 0, "another person's record is never used"


def test_a_new_patient_goes_to_the_counter(
    dataset: Dataset,
    make_client: ClientFactory,
    gateway: RunningGateway,
    his: RunningHis,
    store: Store,
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    result = service.check_in(_typed(record), Deadline.after(5))
    assert (result.insurance, result.insurance_code) == (InsuranceStatus.TO_VERIFY_AT_COUNTER, "")
    assert (his.state.queries, gateway.simulator.stats.lookups) == (1, 0)


def test_his_down_goes_to_the_counter_within_the_deadline(
    dataset: Dataset,
    make_client: ClientFactory,
    gateway: RunningGateway,
    his: RunningHis,
    store: Store,
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    _preload(his, record)
    his.state.down = True
    check = service.lookup_insurance(_typed(record).identity, Deadline.after(2))
    assert (check.decision, check.degraded) == (Decision.GO_TO_COUNTER, True)
    his.state.down = False
    his.state.hang_s = 3.0
    his.state.inject(HisFault.HANG)
    started = time.monotonic()
    check = service.lookup_insurance(_typed(record).identity, Deadline.after(1.0))
    assert check.decision is Decision.GO_TO_COUNTER
    assert time.monotonic() - started < 0.8, "the HIS gets half the lookup's time"
    assert gateway.simulator.stats.lookups == 0


def test_a_bhxh_number_finds_the_patient_and_looks_up_by_it(
    dataset: Dataset,
    make_client: ClientFactory,
    gateway: RunningGateway,
    his: RunningHis,
    store: Store,
) -> None:
    service = _service(make_client, his, store)
    record = dataset.with_outcome("000")
    _preload(his, record)
    found = service.lookup_by_bhxh_number(record.bhxh_number, Deadline.after(5))
    assert found is not None
    identity = found.identity
    assert (identity.id_number, identity.full_name, identity.trust, identity.bhyt_number) == (
        record.person.id_number,
        "",
        IdentityTrust.TYPED,
        None,
    )
    assert (found.insurance.decision, found.insurance.from_his) == (Decision.INSURED, True)
    [body] = gateway.simulator.stats.lookup_bodies
    assert (body["maThe"], body["hoTen"]) == (record.bhxh_number, record.person.full_name)
    request = VisitRequest(identity, "K01", VisitKind.INSURED, Priority.NONE)
    result = service.check_in(request, Deadline.after(5), found.insurance)
    assert result.insurance is InsuranceStatus.VERIFIED
    assert service.lookup_by_bhxh_number("0000000001", Deadline.after(5)) is None
    with pytest.raises(InvalidInputError):
        service.lookup_by_bhxh_number("12345", Deadline.after(5))


def test_without_a_finder_a_typed_number_goes_to_the_counter_as_before(
    dataset: Dataset, make_client: ClientFactory, gateway: RunningGateway, store: Store
) -> None:
    class RegistrarOnly:
        def register(self, visit: object, deadline: Deadline) -> None: ...

    service = CheckInService(make_client(), RegistrarOnly(), store)
    check = service.lookup_insurance(_typed(dataset.with_outcome("000")).identity, Deadline.never())
    assert (check.decision, check.from_his) == (Decision.GO_TO_COUNTER, False)
    assert service.lookup_by_bhxh_number("0000000001", Deadline.never()) is None
    assert gateway.simulator.stats.lookups == 0


def test_in_memory_his_finds_its_patients(dataset: Dataset) -> None:
    his = InMemoryHis()
    person = dataset.with_outcome("000").person
    known = KnownPatient(person.id_number, person.full_name, BirthDate.of(person.date_of_birth),
                         Sex(person.sex))  # fmt: skip
    his.patients.append(known)
    assert his.find_patient(person.id_number, Deadline.never()) == known
    assert replace(known, bhyt_number=None).has_number("0000000001") is False
    assert his.finds == 1
