"""What the check-in service, the outbox workers and the kiosk need of a store: met by
:class:`~hospital_adapter.store.Store` (one database) and
:class:`~hospital_adapter.store.fleet.FleetStore` (a kiosk of many)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.gateway.wire import CoverageCard
from hospital_adapter.store.db import OutboxMessage, Queue, StoredCheckIn, XmlReport
from hospital_adapter.visit import InsuranceStatus, VisitRequest


class CheckInStore(Protocol):
    def check_in_once(
        self,
        request: VisitRequest,
        insurance_status: InsuranceStatus,
        *,
        insurance_code: str = "",
        coverage: CoverageCard | None = None,
        demographics_from_his: bool = False,
        now: datetime | None = None,
        hold_for: timedelta = timedelta(0),
        repeat_window: timedelta,
    ) -> StoredCheckIn: ...

    def claim_due(
        self, now: datetime, lease: timedelta, limit: int = 50, queue: Queue = Queue.HIS
    ) -> list[OutboxMessage]: ...

    def release(
        self, keys: Iterable[str], now: datetime | None = None, queue: Queue = Queue.HIS
    ) -> None: ...

    def mark_delivered(
        self,
        key: str,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
        receipt: Xml0Receipt | None = None,
    ) -> None: ...

    def mark_failed(
        self,
        key: str,
        error: str,
        retry_at: datetime | None,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
    ) -> None: ...

    def outbox_counts(self, queue: Queue = Queue.HIS) -> dict[str, int]: ...

    def xml0_report(self, checkin_id: str) -> XmlReport | None: ...

    def record_event(self, action: str, detail: str = "", now: datetime | None = None) -> None: ...

    def events_since(self, actions: Collection[str], reset_by: str) -> list[datetime]: ...

    def close(self) -> None: ...
