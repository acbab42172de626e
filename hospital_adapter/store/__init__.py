"""The embedded store: check-ins, queue tickets, outbox, audit log (SQLite, WAL)."""

from __future__ import annotations

from hospital_adapter.store.audit import AuditEntry
from hospital_adapter.store.db import (
    CheckInSummary,
    OutboxMessage,
    OutboxStatus,
    Queue,
    Store,
    StoredCheckIn,
    XmlReport,
)

__all__ = [
    "AuditEntry",
    "CheckInSummary",
    "OutboxMessage",
    "OutboxStatus",
    "Queue",
    "Store",
    "StoredCheckIn",
    "XmlReport",
]
