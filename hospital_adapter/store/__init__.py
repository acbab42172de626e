"""The store: check-ins, queue numbers, outboxes, audit log (SQLite file or PostgreSQL)."""

from __future__ import annotations

from hospital_adapter.store.audit import AuditEntry
from hospital_adapter.store.db import (
    CheckInSummary,
    JournalRecord,
    Numbering,
    OutboxMessage,
    OutboxStatus,
    Queue,
    Store,
    StoredCheckIn,
    XmlReport,
)
from hospital_adapter.store.fleet import FleetSettings, FleetStore
from hospital_adapter.store.port import CheckInStore
from hospital_adapter.store.queue import QueueEntry, QueueStatus

__all__ = [
    "AuditEntry",
    "CheckInStore",
    "CheckInSummary",
    "FleetSettings",
    "FleetStore",
    "JournalRecord",
    "Numbering",
    "OutboxMessage",
    "OutboxStatus",
    "Queue",
    "QueueEntry",
    "QueueStatus",
    "Store",
    "StoredCheckIn",
    "XmlReport",
]
