"""The queue ticket: what is printed and shown, and nothing personal (docs/domain.md §4.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Ticket:
    """A queue ticket. No name, no ID number: the ticket may be lost or left behind."""

    number: int
    department_code: str
    department_vi: str
    department_en: str
    room: str
    issued_at: datetime
    checkin_id: str
    """The store's check-in id (32 hex digits): the QR on the ticket, for staff scanners."""
    insured: bool
    verify_insurance_at: int | None = None
    """Counter number where BHYT must be verified (degraded mode), or ``None``."""
    priority: bool = False

    @property
    def label(self) -> str:
        """The queue number as shown and printed: at least three digits."""
        return f"{self.number:03d}"
