"""A check-in as the hospital sees it: the visit registered with the HIS (docs/domain.md §4).

:class:`VisitRequest` is what the kiosk chose; :class:`Visit` adds what the store assigned
(check-in id, queue ticket, service date) and is what the outbox delivers and XML0 reports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hospital_adapter.gateway.wire import CoverageCard
from hospital_adapter.identity import BirthDate, IdentityTrust, PatientIdentity, Sex

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
"""Queue tickets restart every day at midnight, hospital time (UTC+7, no DST)."""


class VisitKind(enum.Enum):
    """ "khám BHYT" (insured) or "khám dịch vụ" (self-pay), docs/domain.md §4.3."""

    INSURED = "insured"
    SELF_PAY = "self_pay"


class Priority(enum.Enum):
    """Priority classes of docs/domain.md §4.3 (Luật Khám bệnh, chữa bệnh 15/2023/QH15
    Đ3 k2); emergencies go to the counter, not through the kiosk."""

    NONE = "none"
    CHILD_UNDER_6 = "child_under_6"
    ELDERLY = "elderly"
    """From the age the facility configures: 75 under the 2023 law (80 before it)."""
    DISABILITY = "disability"
    """A severe or especially severe disability (người khuyết tật nặng, đặc biệt nặng)."""
    PREGNANT = "pregnant"
    MERIT = "merit"
    """A person with meritorious service to the revolution (người có công với cách mạng)."""

    @classmethod
    def _missing_(cls, value: object) -> Priority | None:
        # Check-ins stored when the elderly class was named after the 2009 law's age.
        return cls.ELDERLY if value == "aged_80_plus" else None


class InsuranceStatus(enum.Enum):
    """What the check-in knows about BHYT coverage when the ticket is printed."""

    VERIFIED = "verified"
    """The gateway confirmed a valid card (000, 003, 004)."""
    TO_VERIFY_AT_COUNTER = "to_verify_at_counter"
    """The gateway was unreachable or unsure: "BHYT to be verified at the counter"."""
    NOT_APPLICABLE = "not_applicable"
    """Self-pay visit: no BHYT lookup needed."""


@dataclass(frozen=True)
class VisitRequest:
    """The kiosk's choices for one patient."""

    identity: PatientIdentity
    department: str
    visit_kind: VisitKind
    priority: Priority = Priority.NONE


@dataclass(frozen=True)
class Visit:
    """A stored check-in. ``checkin_id`` (32 hex digits) is the idempotency key of its
    registration: HL7 MSH-10 and the FHIR conditional-create identifier derive from it."""

    checkin_id: str
    identity: PatientIdentity = field(repr=False)
    department: str
    ticket: int
    service_date: date
    arrived_at: datetime
    visit_kind: VisitKind
    priority: Priority
    insurance_status: InsuranceStatus
    insurance_code: str = ""
    coverage: CoverageCard | None = None
    demographics_from_his: bool = False
    """The BHYT lookup was made with the name and date of birth the HIS holds for a typed
    number (docs/domain.md §4.1), not with what the patient showed."""

    @property
    def message_id(self) -> str:
        """HL7 MSH-10 message control id (ST, at most 20 characters in v2.5)."""
        return self.checkin_id[:20]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, used for the (encrypted) outbox payload."""
        ident = self.identity
        cov = self.coverage
        return {
            "checkin_id": self.checkin_id,
            "identity": {
                "id_number": ident.id_number,
                "full_name": ident.full_name,
                "date_of_birth": [
                    ident.date_of_birth.year,
                    ident.date_of_birth.month,
                    ident.date_of_birth.day,
                ],
                "sex": ident.sex.value,
                "address": ident.address,
                "bhyt_number": ident.bhyt_number,
                "trust": ident.trust.value,
            },
            "department": self.department,
            "ticket": self.ticket,
            "service_date": self.service_date.isoformat(),
            "arrived_at": self.arrived_at.isoformat(),
            "visit_kind": self.visit_kind.value,
            "priority": self.priority.value,
            "insurance_status": self.insurance_status.value,
            "insurance_code": self.insurance_code,
            "demographics_from_his": self.demographics_from_his,
            "coverage": None
            if cov is None
            else {
                "card_number": cov.card_number,
                "valid_from": None if cov.valid_from is None else cov.valid_from.isoformat(),
                "valid_to": None if cov.valid_to is None else cov.valid_to.isoformat(),
                "primary_care_facility": cov.primary_care_facility,
                "primary_care_facility_name": cov.primary_care_facility_name,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Visit:
        ident = data["identity"]
        cov = data["coverage"]

        def day(value: str | None) -> date | None:
            return None if value is None else date.fromisoformat(value)

        return cls(
            checkin_id=data["checkin_id"],
            identity=PatientIdentity(
                id_number=ident["id_number"],
                full_name=ident["full_name"],
                date_of_birth=BirthDate(*ident["date_of_birth"]),
                sex=Sex(ident["sex"]),
                address=ident["address"],
                bhyt_number=ident["bhyt_number"],
                # Check-ins stored before the trust level was kept all came from the chip.
                trust=IdentityTrust(ident.get("trust", IdentityTrust.CHIP.value)),
            ),
            department=data["department"],
            ticket=data["ticket"],
            service_date=date.fromisoformat(data["service_date"]),
            arrived_at=datetime.fromisoformat(data["arrived_at"]),
            visit_kind=VisitKind(data["visit_kind"]),
            priority=Priority(data["priority"]),
            insurance_status=InsuranceStatus(data["insurance_status"]),
            insurance_code=data["insurance_code"],
            demographics_from_his=data.get("demographics_from_his", False),  # older records
            coverage=None
            if cov is None
            else CoverageCard(
                card_number=cov["card_number"],
                valid_from=day(cov["valid_from"]),
                valid_to=day(cov["valid_to"]),
                primary_care_facility=cov["primary_care_facility"],
                primary_care_facility_name=cov["primary_care_facility_name"],
            ),
        )


def utc_now() -> datetime:
    return datetime.now(UTC)
