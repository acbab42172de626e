"""The BHXH gateway: typed lookups of BHYT coverage (docs/domain.md §3)."""

from __future__ import annotations

from hospital_adapter.gateway.client import GatewayClient
from hospital_adapter.gateway.codes import Decision, ResultCode, decide
from hospital_adapter.gateway.history import PastVisit, VisitHistory
from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.gateway.wire import (
    CoverageCard,
    InsuranceHolder,
    InsuranceLookup,
    LookupQuery,
)

__all__ = [
    "CoverageCard",
    "Decision",
    "GatewayClient",
    "InsuranceHolder",
    "InsuranceLookup",
    "LookupQuery",
    "PastVisit",
    "ResultCode",
    "VisitHistory",
    "Xml0Receipt",
    "decide",
]
