"""Turn a verified identity into a hospital visit: BHYT lookup, HIS registration, store.

The kiosk's entry point is :class:`CheckInService`; see docs/hospital_adapter.md.
"""

from __future__ import annotations

from hospital_adapter.deadline import Deadline
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from hospital_adapter.service import (
    COUNTER_NOTE,
    CheckInResult,
    CheckInService,
    InsuranceCheck,
    RegistrationStatus,
)
from hospital_adapter.visit import InsuranceStatus, Priority, VisitKind, VisitRequest

__all__ = [
    "COUNTER_NOTE",
    "BirthDate",
    "CheckInResult",
    "CheckInService",
    "Deadline",
    "InsuranceCheck",
    "InsuranceStatus",
    "PatientIdentity",
    "Priority",
    "RegistrationStatus",
    "Sex",
    "VisitKind",
    "VisitRequest",
]
