"""The staff screen's logic: PIN check with lockout, device and outbox status, printing.

Plain Python, blocking: the Qt screen runs these calls on its worker pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.config import AdminSettings, pin_matches
from kiosk.devices.escpos import PrinterStatus
from kiosk.ticket import Ticket


@dataclass(frozen=True)
class AdminStatus:
    """What the staff screen shows; no personal data."""

    outbox: Mapping[str, int] = field(default_factory=dict)
    printer: PrinterStatus | None = None
    readers: tuple[str, ...] = ()
    reader_error: str = ""
    scanner: str = ""
    card_watcher: str = ""
    voice: str = ""


class PinGate:
    """``attempts`` wrong PINs lock the screen for ``lockout_s`` seconds."""

    def __init__(
        self, settings: AdminSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._failures = 0
        self._locked_until = 0.0

    @property
    def locked_for(self) -> float:
        return max(0.0, self._locked_until - self._clock())

    def check(self, pin: str) -> bool:
        if self.locked_for > 0:
            return False
        if pin_matches(self._settings, pin):
            self._failures = 0
            return True
        self._failures += 1
        if self._failures >= self._settings.attempts:
            self._failures = 0
            self._locked_until = self._clock() + self._settings.lockout_s
        return False


def test_ticket(now: datetime) -> Ticket:
    """A ticket that says it is a test (number 0, no check-in behind it)."""
    return Ticket(
        number=0,
        department_code="TEST",
        department_vi="Phiếu in thử",
        department_en="Test print",
        room="—",
        issued_at=now,
        checkin_id="0" * 32,
        insured=False,
    )
