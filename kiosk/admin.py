"""The staff screen's logic: PIN check with lockout, device and outbox status, printing.

Plain Python, blocking: the Qt screen runs these calls on its worker pool.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from hospital_adapter import StoreError
from kiosk.config import AdminSettings
from kiosk.devices.escpos import PrinterStatus
from kiosk.pin import PinHash
from kiosk.ticket import Ticket

_log = logging.getLogger(__name__)

PIN_FAILED = "staff_pin_failed"
PIN_ACCEPTED = "staff_pin_ok"


@dataclass(frozen=True)
class AdminStatus:
    """What the staff screen shows; no personal data."""

    outbox: Mapping[str, int] = field(default_factory=dict)
    xml0: Mapping[str, int] | None = None
    """The XML0 reports to BHXH per status; ``None`` when reporting is off."""
    printer: PrinterStatus | None = None
    readers: tuple[str, ...] = ()
    reader_error: str = ""
    scanner: str = ""
    card_watcher: str = ""
    voice: str = ""
    store: str = ""
    """Where check-ins go: this kiosk's file, or the hospital's store and the journal."""


class PinJournal(Protocol):
    """Where PIN attempts are recorded and read back: the store's audit log."""

    def record_event(self, action: str, detail: str = "", now: datetime | None = None) -> None: ...

    def events_since(self, actions: Collection[str], reset_by: str) -> list[datetime]: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PinGate:
    """The staff PIN check with a growing lockout that survives restarts.

    Every ``attempts`` wrong PINs in a row lock the screen: ``lockout_s`` the first time,
    doubling each time after, at most ``max_lockout_s``; the right PIN starts over. Each
    attempt is an audit entry (``staff_pin_failed`` with the count, ``staff_pin_ok``; never
    the digits), and the count and the time of the last failure are read back from the
    audit log at start. Thread-safe: the staff screen runs :meth:`check` (a 0.1 s scrypt)
    on its worker pool.
    """

    def __init__(
        self,
        settings: AdminSettings,
        journal: PinJournal,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._hash = PinHash.parse(settings.pin_hash)
        self._journal = journal
        self._clock = clock
        self._lock = threading.Lock()
        failures = journal.events_since({PIN_FAILED}, reset_by=PIN_ACCEPTED)
        self._failures = len(failures)
        self._last_failure = failures[-1] if failures else None

    def _lockout(self) -> timedelta:
        """The lockout the current count of failures has earned (zero between lockouts)."""
        attempts = self._settings.attempts
        if self._failures == 0 or self._failures % attempts:
            return timedelta(0)
        doublings = min(self._failures // attempts - 1, 32)
        seconds = min(self._settings.lockout_s * 2**doublings, self._settings.max_lockout_s)
        return timedelta(seconds=seconds)

    @property
    def locked_for(self) -> float:
        """Seconds until a PIN is tried again (0: not locked)."""
        with self._lock:
            if self._last_failure is None:
                return 0.0
            left = self._last_failure + self._lockout() - self._clock()
            return max(0.0, left.total_seconds())

    def check(self, pin: str) -> bool:
        """True for the right PIN; a refused or locked attempt is False."""
        if self.locked_for > 0:
            return False
        accepted = self._hash.matches(pin)
        with self._lock:
            now = self._clock()
            if accepted:
                self._failures, self._last_failure = 0, None
                self._record(PIN_ACCEPTED, "", now)
                return True
            self._failures, self._last_failure = self._failures + 1, now
            lockout = self._lockout().total_seconds()
            detail = f"failures={self._failures}" + (f" locked_s={lockout:.0f}" if lockout else "")
            self._record(PIN_FAILED, detail, now)
        return False

    def _record(self, action: str, detail: str, now: datetime) -> None:
        try:
            self._journal.record_event(action, detail, now)
        except StoreError as exc:  # the count still holds in memory until a restart
            _log.error("staff PIN attempt not recorded in the audit log: %s", exc)


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
