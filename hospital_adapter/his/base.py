"""The HIS port: one interface, HL7 v2.5 MLLP and FHIR R4 implementations (docs/domain.md §4.4).

A registrar must be idempotent on :attr:`Visit.message_id`: the outbox may send the same
visit twice (a lost ACK, a crashed worker), and the HIS must register it once.
"""

from __future__ import annotations

from typing import Protocol

from hospital_adapter.deadline import Deadline
from hospital_adapter.visit import Visit


class HisRegistrar(Protocol):
    """Registers a visit with the hospital information system."""

    def register(self, visit: Visit, deadline: Deadline) -> None:
        """Return once the HIS accepted the visit; raise :class:`HisUnavailableError`,
        :class:`HisRejectedError` or :class:`HisProtocolError` otherwise."""
        ...


class InMemoryHis:
    """Test double: records visits by message id; set ``fail_with`` to make it fail."""

    def __init__(self) -> None:
        self.visits: dict[str, Visit] = {}
        self.calls = 0
        self.fail_with: Exception | None = None

    def register(self, visit: Visit, deadline: Deadline) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.visits.setdefault(visit.message_id, visit)
