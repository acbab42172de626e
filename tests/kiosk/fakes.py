"""Test doubles for the flow's ports (the flow's unit tests only; the end-to-end tests use
the real card stack, gateway, HIS and printer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from cardreader.access.credentials import Credentials
from hospital_adapter import (
    BirthDate,
    CheckInResult,
    Deadline,
    IdentityTrust,
    InsuranceCheck,
    InsuranceStatus,
    NumberLookup,
    PatientIdentity,
    RegistrationStatus,
    Sex,
    VisitKind,
    VisitRequest,
)
from hospital_adapter.gateway import CoverageCard, Decision, InsuranceLookup, ResultCode
from kiosk.card import CardEvents, IdentityRead, Trust
from kiosk.runner import Outcome
from kiosk.ticket import Ticket

HOA = PatientIdentity(
    id_number="079185012345",
    full_name="Nguyễn Thị Hoa",
    date_of_birth=BirthDate(1985, 3, 15),
    sex=Sex.FEMALE,
    address="Số 7 Lê Lợi, Phường Bến Nghé, Hồ Chí Minh",
    trust=IdentityTrust.CHIP,
)
HOA_QR = "079185012345||Nguyễn Thị Hoa|15031985|Nữ|Số 7 Lê Lợi, Phường Bến Nghé|01022021"
NOW = datetime(2026, 3, 2, 8, 30)


def read_of(
    person: PatientIdentity,
    trust: Trust = Trust.VERIFIED,
    detail: str = "",
    expiry: date | None = date(2030, 3, 15),
) -> IdentityRead:
    """A chip read of ``person`` with the verdict ``trust`` (the identity's trust level
    follows it, as the PC/SC backend's); Hoa's card expires on 15/03/2030."""
    return IdentityRead(replace(person, trust=trust.identity_trust), trust, detail, expiry)


class ManualRunner:
    """Queues jobs; the test runs them one at a time, in any order, on its own thread."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], Any], Callable[[Outcome[Any]], None]]] = []

    def run(self, job: Callable[[], Any], done: Callable[[Outcome[Any]], None]) -> None:
        self.jobs.append((job, done))

    def post(self, callback: Callable[[], None]) -> None:
        callback()

    def finish(self, index: int = 0) -> None:
        job, done = self.jobs.pop(index)
        done(Outcome.of(job))

    def finish_all(self) -> None:
        while self.jobs:
            self.finish()


@dataclass
class FakeCard:
    """Plays a scripted read: progress, identity, photo, or an error at a chosen point."""

    read_result: IdentityRead | None = field(default_factory=lambda: read_of(HOA))
    photo: bytes = b"\x89PNG fake"
    photo_trust: Trust = Trust.VERIFIED
    error: Exception | None = None
    error_after_identity: Exception | None = None
    can: str = "012345"
    calls: list[Credentials] = field(default_factory=list)

    def read(self, credentials: Credentials, events: CardEvents) -> None:
        from cardreader.errors import AccessDeniedError

        self.calls.append(credentials)
        events.progress(100, 1000)
        if credentials.can != self.can:
            raise AccessDeniedError("PACE", "wrong password")
        if self.error is not None:
            raise self.error
        assert self.read_result is not None
        events.identity(self.read_result)
        if self.error_after_identity is not None:
            raise self.error_after_identity
        events.progress(1000, 1000)
        events.photo(self.photo, self.photo_trust)


def lookup_of(code: ResultCode, valid_to: date | None = date(2026, 12, 31)) -> InsuranceLookup:
    card = None if valid_to is None else CoverageCard("HC4797912345678", None, valid_to, "79024")
    return InsuranceLookup(code.value, code, code.decision, card=card)


@dataclass
class FakeHospital:
    insurance: InsuranceCheck = field(
        default_factory=lambda: InsuranceCheck(
            Decision.INSURED, lookup_of(ResultCode.VALID), degraded=False
        )
    )
    check_in_error: Exception | None = None
    requests: list[VisitRequest] = field(default_factory=list)
    looked_up: list[PatientIdentity] = field(default_factory=list)
    consents: list[bool] = field(default_factory=list)
    known_numbers: dict[str, NumberLookup] = field(default_factory=dict)
    """What the HIS knows by BHXH number (none by default: a typed one is not found)."""
    numbers_asked: list[str] = field(default_factory=list)

    def lookup_insurance(self, identity: PatientIdentity, deadline: Deadline) -> InsuranceCheck:
        self.looked_up.append(identity)
        return self.insurance

    def lookup_by_bhxh_number(self, bhxh_number: str, deadline: Deadline) -> NumberLookup | None:
        self.numbers_asked.append(bhxh_number)
        return self.known_numbers.get(bhxh_number)

    def record_consent(self, given: bool) -> None:
        self.consents.append(given)

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
        on_stored: Callable[[CheckInResult], None] | None = None,
    ) -> CheckInResult:
        if self.check_in_error is not None:
            raise self.check_in_error
        self.requests.append(request)
        insured = request.visit_kind is VisitKind.INSURED
        verified = insured and insurance is not None and insurance.decision is Decision.INSURED
        status = (
            InsuranceStatus.NOT_APPLICABLE
            if not insured
            else InsuranceStatus.VERIFIED
            if verified
            else InsuranceStatus.TO_VERIFY_AT_COUNTER
        )
        result = CheckInResult(
            checkin_id="ab" * 16,
            ticket=len(self.requests),
            department=request.department,
            visit_kind=request.visit_kind,
            insurance=status,
            insurance_code="000" if verified else "",
            registration=RegistrationStatus.QUEUED,
            counter_note="" if status is not InsuranceStatus.TO_VERIFY_AT_COUNTER else "x",
        )
        if on_stored is not None:  # stored: the HIS is asked after this, as the service does
            on_stored(result)
        return replace(result, registration=RegistrationStatus.DELIVERED)


@dataclass
class FakePrinter:
    error: Exception | None = None
    printed: list[Ticket] = field(default_factory=list)

    def print_ticket(self, ticket: Ticket) -> None:
        if self.error is not None:
            raise self.error
        self.printed.append(ticket)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
