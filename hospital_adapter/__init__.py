"""Turn a verified identity into a hospital visit: BHYT lookup, HIS registration, store.

The kiosk's entry point is :class:`CheckInService`; see docs/hospital_adapter.md.
"""

from __future__ import annotations

from hospital_adapter.bhyt import BhytQrData, parse_bhyt_qr
from hospital_adapter.config import (
    SCHEMA,
    GatewayAccount,
    Settings,
    check_config,
    environment_problems,
    load,
    load_store_key,
    report,
    validate,
)
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    ConfigurationError,
    HospitalAdapterError,
    InvalidInputError,
    Problem,
    StoreError,
)
from hospital_adapter.gateway import Decision, GatewayClient
from hospital_adapter.his import KnownPatient, PatientFinder, configured_registrar
from hospital_adapter.identity import BirthDate, IdentityTrust, PatientIdentity, Sex
from hospital_adapter.outbox import OutboxThread, OutboxWorker
from hospital_adapter.service import (
    COUNTER_NOTE,
    CheckInResult,
    CheckInService,
    InsuranceCheck,
    NumberLookup,
    RegistrationStatus,
    same_lookup,
)
from hospital_adapter.store import CheckInStore, FleetSettings, FleetStore, Queue, Store
from hospital_adapter.visit import (
    VIETNAM_TIME,
    InsuranceStatus,
    Priority,
    VisitKind,
    VisitRequest,
)
from hospital_adapter.xml0_report import configured_reporter

__all__ = [
    "COUNTER_NOTE",
    "SCHEMA",
    "VIETNAM_TIME",
    "BhytQrData",
    "BirthDate",
    "CheckInResult",
    "CheckInService",
    "CheckInStore",
    "ConfigurationError",
    "Deadline",
    "Decision",
    "FleetSettings",
    "FleetStore",
    "GatewayAccount",
    "GatewayClient",
    "HospitalAdapterError",
    "IdentityTrust",
    "InsuranceCheck",
    "InsuranceStatus",
    "InvalidInputError",
    "KnownPatient",
    "NumberLookup",
    "OutboxThread",
    "OutboxWorker",
    "PatientFinder",
    "PatientIdentity",
    "Priority",
    "Problem",
    "Queue",
    "RegistrationStatus",
    "Settings",
    "Sex",
    "Store",
    "StoreError",
    "VisitKind",
    "VisitRequest",
    "check_config",
    "configured_registrar",
    "configured_reporter",
    "environment_problems",
    "load",
    "load_store_key",
    "parse_bhyt_qr",
    "report",
    "same_lookup",
    "validate",
]
