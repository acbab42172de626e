"""The flow's ports while what they stand for opens on another thread.

:meth:`kiosk.qt.app.KioskApp.starting` draws the first screen, then opens the card reader
and the services behind it (issue #16 item 7); until each is ready, a call through its
port (always on a runner's worker thread) waits for it within the call's deadline, so a
card tapped or a QR scanned meanwhile is handled once it is.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from hospital_adapter import StoreError
from kiosk.card import CardReaderPort
from kiosk.ports import CheckInPort, PrinterPort

if TYPE_CHECKING:
    from cardreader import Credentials
    from hospital_adapter import (
        CheckInResult,
        Deadline,
        InsuranceCheck,
        NumberLookup,
        PatientIdentity,
        VisitRequest,
    )
    from kiosk.card import CardEvents
    from kiosk.ticket import Ticket

T = TypeVar("T")

LATE_WAIT_S = 30.0
"""Longest wait of a call without a deadline for the services still being built."""


class _Late(Generic[T]):
    """A value made on another thread; :meth:`get` waits for it (or its build's error)."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def set(self, value: T) -> None:
        self._value = value
        self._ready.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def get(self, deadline: Deadline | None = None) -> T:
        timeout = LATE_WAIT_S if deadline is None else max(0.0, deadline.remaining())
        if not self._ready.wait(None if math.isinf(timeout) else timeout):
            raise StoreError("the kiosk's services are still starting")
        if self._error is not None:
            raise StoreError(f"the kiosk's services did not start: {self._error}")
        assert self._value is not None
        return self._value


class LateCheckIn(_Late[CheckInPort]):
    """The flow's hospital port while :func:`kiosk.app.build_services` runs."""

    def service(self, deadline: Deadline | None = None) -> CheckInPort:
        return self.get(deadline)

    def lookup_insurance(self, identity: PatientIdentity, deadline: Deadline) -> InsuranceCheck:
        return self.service(deadline).lookup_insurance(identity, deadline)

    def lookup_by_bhxh_number(self, bhxh_number: str, deadline: Deadline) -> NumberLookup | None:
        return self.service(deadline).lookup_by_bhxh_number(bhxh_number, deadline)

    def record_consent(self, given: bool) -> None:
        self.service().record_consent(given)

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
        on_stored: Callable[[CheckInResult], None] | None = None,
    ) -> CheckInResult:
        return self.service(deadline).check_in(request, deadline, insurance, on_stored)


class LatePrinter(_Late[PrinterPort]):
    """The flow's printer port while the printer is opened on another thread."""

    def print_ticket(self, ticket: Ticket) -> None:
        self.get().print_ticket(ticket)


class LateCardReader(_Late[CardReaderPort]):
    """The flow's card reader port while the card backend (and its trust anchors) opens."""

    def read(self, credentials: Credentials, events: CardEvents) -> None:
        self.get().read(credentials, events)
