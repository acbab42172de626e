"""What the check-in flow needs of the hospital and the printer (the card's port is
:class:`kiosk.card.CardReaderPort`); their test doubles are in tests/kiosk/fakes.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hospital_adapter import (
    CheckInResult,
    Deadline,
    InsuranceCheck,
    NumberLookup,
    PatientIdentity,
    VisitRequest,
)
from kiosk.ticket import Ticket


class CheckInPort(Protocol):
    """What the flow needs of :class:`hospital_adapter.CheckInService`."""

    def lookup_insurance(self, identity: PatientIdentity, deadline: Deadline) -> InsuranceCheck: ...

    def lookup_by_bhxh_number(
        self, bhxh_number: str, deadline: Deadline
    ) -> NumberLookup | None: ...

    def record_consent(self, given: bool) -> None: ...

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
        on_stored: Callable[[CheckInResult], None] | None = None,
    ) -> CheckInResult: ...


class PrinterPort(Protocol):
    def print_ticket(self, ticket: Ticket) -> None:
        """Print ``ticket``; raise :class:`kiosk.devices.errors.DeviceError` on failure."""
