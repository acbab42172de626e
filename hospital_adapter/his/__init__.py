"""Registering visits with the hospital information system (docs/domain.md §4.4), and
finding the patients it already knows (IHE PDQ ITI-21, FHIR R4 Patient search)."""

from __future__ import annotations

from hospital_adapter.his.base import (
    HisRegistrar,
    InMemoryHis,
    KnownPatient,
    PatientFinder,
    PatientKey,
)
from hospital_adapter.his.configured import configured_registrar
from hospital_adapter.his.fhir_client import FhirRegistrar
from hospital_adapter.his.hl7v2 import AckCode, MessageHeader
from hospital_adapter.his.mllp import MllpRegistrar

__all__ = [
    "AckCode",
    "FhirRegistrar",
    "HisRegistrar",
    "InMemoryHis",
    "KnownPatient",
    "MessageHeader",
    "MllpRegistrar",
    "PatientFinder",
    "PatientKey",
    "configured_registrar",
]
