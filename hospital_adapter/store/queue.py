"""The waiting line of each department: what the counters call and the queue board shows.

A check-in is *waiting* from its ticket until a room calls it, *called* while that room
serves it, and *served* once the same room calls its next number. Calls go priority first
(the law's priority groups, docs/domain.md §4.3), then by arrival: with numbers leased to
kiosks in blocks (docs/hospital_adapter.md, "Many kiosks"), arrival, not the number, is the
order patients came in. Nothing here is personal: department, number, room, a priority flag
(not its reason) and times.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime


class QueueStatus(enum.StrEnum):
    """Where a ticket is in its department's line."""

    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"


@dataclass(frozen=True)
class QueueEntry:
    """One ticket in a department's line, without personal data."""

    service_date: date
    department: str
    ticket: int
    status: QueueStatus
    priority: bool
    """The patient is in one of the priority groups (which one is not kept here)."""
    arrived_at: datetime
    room: str = ""
    """The room that called it; empty while waiting."""
    called_at: datetime | None = None
