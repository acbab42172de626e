"""Test helpers shared by the hospital tests (importable from subprocesses too)."""

from __future__ import annotations

from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from hospital_adapter.visit import Priority, VisitKind, VisitRequest
from simulators.bhxh_gateway import InsuranceRecord, Person

KEY = bytes(range(32))


def identity_of(person: Person, *, bhyt_number: str | None = None) -> PatientIdentity:
    return PatientIdentity(
        id_number=person.id_number,
        full_name=person.full_name,
        date_of_birth=BirthDate.of(person.date_of_birth),
        sex=Sex(person.sex),
        address="Số 7 Lê Lợi, Phường Bến Nghé",
        bhyt_number=bhyt_number,
    )


def request_for(
    record: InsuranceRecord | Person,
    department: str = "K01",
    kind: VisitKind = VisitKind.INSURED,
) -> VisitRequest:
    person = record.person if isinstance(record, InsuranceRecord) else record
    return VisitRequest(identity_of(person), department, kind, Priority.NONE)
