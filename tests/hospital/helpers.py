"""Test helpers shared by the hospital tests (importable from subprocesses too)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from hospital_adapter.gateway import CoverageCard
from hospital_adapter.identity import BirthDate, IdentityTrust, PatientIdentity, Sex
from hospital_adapter.visit import InsuranceStatus, Priority, Visit, VisitKind, VisitRequest
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


def sample_visit(*, insured: bool = True, coverage: bool = True) -> Visit:
    """A fixed visit with awkward characters in the name and address."""
    return Visit(
        checkin_id="0123456789abcdef0123456789abcdef",
        identity=PatientIdentity(
            id_number="079185001234",
            full_name="Nguyễn Thị Hoa",
            date_of_birth=BirthDate(1985, 3, 7),
            sex=Sex.FEMALE,
            address="12 Lê Lợi | Q1 & P^2",
            trust=IdentityTrust.CHIP,
        ),
        department="K01",
        ticket=7,
        service_date=date(2025, 3, 10),
        arrived_at=datetime(2025, 3, 10, 1, 2, 3, tzinfo=UTC),
        visit_kind=VisitKind.INSURED if insured else VisitKind.SELF_PAY,
        priority=Priority.ELDERLY,
        insurance_status=InsuranceStatus.VERIFIED,
        insurance_code="000",
        coverage=CoverageCard("HC4797912345678", date(2025, 1, 1), date(2025, 12, 31), "79024")
        if coverage
        else None,
    )


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0, poll_s: float = 0.01) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; return its last value."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(poll_s)
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server started later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
