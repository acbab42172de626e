"""What a check-in asks and answers: the kiosk's side of :class:`~hospital_adapter.service.
CheckInService` (its results, the lookup port, :func:`same_lookup`), light to import: none of
the store's, the outbox's or the HTTP client's libraries (issue #16: the kiosk's first screen).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from hospital_adapter.deadline import Deadline
from hospital_adapter.gateway.codes import Decision
from hospital_adapter.gateway.wire import InsuranceLookup, LookupQuery
from hospital_adapter.identity import PatientIdentity
from hospital_adapter.visit import InsuranceStatus, VisitKind

COUNTER_NOTE = "BHYT to be verified at the counter"


class InsuranceLookupPort(Protocol):
    """What the service needs of :class:`~hospital_adapter.gateway.GatewayClient`."""

    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup: ...


class RegistrationStatus(enum.Enum):
    DELIVERED = "delivered"
    """The HIS acknowledged the registration."""
    QUEUED = "queued"
    """Stored in the outbox; the worker delivers it when the HIS answers."""
    REJECTED = "rejected"
    """The HIS refused it (HL7 AE, FHIR 4xx): staff must look at it (``outbox retry``)."""


@dataclass(frozen=True)
class InsuranceCheck:
    """Outcome of a lookup for the kiosk's choice screen. ``lookup`` is ``None`` when the
    gateway could not be asked (down, too slow, misconfigured): then ``decision`` is
    ``RETRY`` or ``CONFIGURATION_ERROR`` and the patient goes on in degraded mode."""

    decision: Decision
    lookup: InsuranceLookup | None
    degraded: bool
    from_his: bool = False
    """The gateway was asked with the name and date of birth the HIS has for a typed number
    (demographics from the HIS, docs/domain.md §4.1), not with what the patient showed."""


@dataclass(frozen=True)
class NumberLookup:
    """A typed BHXH number the HIS knows: the identity of its ID number (trust ``typed``,
    no name: the HIS's name is never handed on) and its BHYT check."""

    identity: PatientIdentity = field(repr=False)
    insurance: InsuranceCheck


@dataclass(frozen=True)
class CheckInResult:
    """What the kiosk prints and says. No personal data: safe to log."""

    checkin_id: str
    ticket: int
    department: str
    visit_kind: VisitKind
    insurance: InsuranceStatus
    insurance_code: str
    registration: RegistrationStatus
    counter_note: str
    """Empty, or :data:`COUNTER_NOTE` when BHYT must be verified at the counter."""
    repeated: bool = False
    """An earlier check-in of this patient given back (a re-tap): its ticket, insurance
    and registration status; nothing new was stored or sent."""


def same_lookup(first: PatientIdentity, second: PatientIdentity) -> bool:
    """Whether the gateway would be asked the same question about both identities (card or
    ID number, name, date of birth): a lookup made for one answers for the other."""
    if not (first.full_name and second.full_name):
        return False
    key = LookupQuery.for_identity(first).cache_key()
    return key == LookupQuery.for_identity(second).cache_key()
