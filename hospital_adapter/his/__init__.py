"""Registering visits with the hospital information system (docs/domain.md §4.4)."""

from __future__ import annotations

from hospital_adapter.his.base import HisRegistrar, InMemoryHis
from hospital_adapter.his.configured import configured_registrar
from hospital_adapter.his.fhir_client import FhirRegistrar
from hospital_adapter.his.hl7v2 import AckCode, MessageHeader
from hospital_adapter.his.mllp import MllpRegistrar

__all__ = [
    "AckCode",
    "FhirRegistrar",
    "HisRegistrar",
    "InMemoryHis",
    "MessageHeader",
    "MllpRegistrar",
    "configured_registrar",
]
