"""A kiosk of a hospital with many: its own journal first, the hospital's store as soon as
it can be reached (docs/hospital_adapter.md, "Many kiosks").

Every check-in is first committed to the kiosk's journal, a local SQLite file, numbered
from blocks of numbers the kiosk leased from the hospital's PostgreSQL store ahead of
time; a background thread hands each journal record on to the hospital's store (by its
check-in id: handing it twice adds nothing) and keeps the leases topped up for today and
tomorrow. So numbering and recording a check-in need no network (the kiosk only asks the
hospital's store, when it answers within ``timeout_s``, whether the patient checked in at
another kiosk moments ago), and the guarantees are:

- **Unique numbers**: each block is leased to one kiosk by the hospital's counter, and a
  kiosk numbers each of its leased numbers once (its journal's transaction); the hospital's
  store also refuses a second check-in with the same department, day and number.
- **Nothing lost**: a check-in is durable in the journal before the ticket is printed and
  stays there until the hospital's store has it.
- **One registration per check-in**: a check-in's record is identical in both stores, so
  whichever delivers its HIS message uses the same idempotency key; a delivery made while
  cut off is handed on as delivered.

What it costs: numbers are not given out in arrival order across kiosks (each kiosk works
through its own block; calls go by arrival, :mod:`hospital_adapter.store.queue`); unused
leased numbers are gaps (per kiosk, department and day at most ``block + low_water - 1``,
plus any block whose lease answer was lost on the way); a kiosk cut off with its blocks used
up sends patients to the counter (:class:`NoNumbersLeftError`), and one checking patients in
faster than leases arrive runs out the same way; a patient tapping at two kiosks while one
of them is cut off can get two check-ins.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hospital_adapter.errors import StoreError, StoreUnavailableError
from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.gateway.wire import CoverageCard
from hospital_adapter.store.db import (
    JournalRecord,
    Numbering,
    OutboxMessage,
    OutboxStatus,
    Queue,
    Store,
    StoredCheckIn,
    XmlReport,
)
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus, VisitRequest, utc_now

log = logging.getLogger(__name__)


class _LeftAloneError(StoreUnavailableError):
    """Not tried: the hospital's store failed less than ``retry_after_s`` ago."""


@dataclass(frozen=True)
class FleetSettings:
    """How a kiosk shares the hospital's store."""

    kiosk: str
    """This kiosk's name, unique in the hospital (kept with its check-ins and leases)."""
    departments: tuple[str, ...]
    """The departments it numbers for: leases are kept for each."""
    block: int = 20
    """Numbers per lease."""
    low_water: int = 10
    """A new block is leased when fewer numbers than this are left."""
    retry_after_s: float = 2.0
    """After the hospital's store failed, how long the kiosk leaves it alone."""
    interval_s: float = 0.5
    """How often the background thread hands the journal on and checks the leases."""
    batch: int = 10
    """Journal records handed on per transaction (each transaction must fit in
    ``timeout_s`` on a slow link)."""
    timeout_s: float = 2.0
    """Longest wait for the hospital's store (connecting, each transaction)."""


@dataclass(frozen=True)
class HandOnReport:
    """One pass of the background thread."""

    handed_on: int
    leased: int
    waiting: int
    """Journal records still to hand on."""


class FleetStore:
    """The store a kiosk of many uses: see the module docstring. Thread-safe."""

    def __init__(
        self,
        hospital_url: str,
        journal_path: str,
        master_key: bytes,
        settings: FleetSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Open the journal (:class:`StoreError` if it cannot be); the hospital's store is
        opened when first needed, so a kiosk starts even when it is unreachable."""
        self._url = hospital_url
        self._key = master_key
        self._settings = settings
        self._clock = clock
        self._journal = Store(
            journal_path, master_key, kiosk=settings.kiosk, numbering=Numbering.LEASED
        )
        self._hospital: Store | None = None
        self._down_until = 0.0
        self._open_lock = threading.Lock()
        self._handoff = threading.Lock()
        """Held while a journal record's outbox state moves: its hand-on, or a delivery
        recorded in the journal (the two never cross)."""
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # The hospital's store, opened lazily and left alone for a while after a failure.

    def _reachable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _store(self) -> Store:
        with self._open_lock:
            if self._hospital is None:
                if not self._reachable():
                    raise _LeftAloneError("the hospital store was unreachable moments ago")
                try:
                    self._hospital = Store(
                        self._url,
                        self._key,
                        kiosk=self._settings.kiosk,
                        timeout_s=self._settings.timeout_s,
                    )
                except StoreUnavailableError:
                    self._down_until = time.monotonic() + self._settings.retry_after_s
                    raise
            return self._hospital

    @contextmanager
    def _hospital_store(self) -> Iterator[Store]:
        """The hospital's store; a :class:`StoreUnavailableError` inside marks it down."""
        try:
            yield self._store()
        except _LeftAloneError:
            raise
        except StoreUnavailableError:  # a real attempt failed: leave the store alone a while
            self._down_until = time.monotonic() + self._settings.retry_after_s
            raise

    @property
    def online(self) -> bool:
        """Whether the hospital's store answered the last time it was asked."""
        return self._hospital is not None and self._reachable()

    @property
    def journal_store(self) -> Store:
        """The kiosk's journal (its own audit log: consent answers, PIN failures)."""
        return self._journal

    # Check-in: the journal first.

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
    ) -> StoredCheckIn:
        """:meth:`Store.check_in_once` in the journal, after asking the hospital's store
        (when it answers) whether this is a re-tap of a check-in made at another kiosk."""
        now = now or self._clock()
        if repeat_window > timedelta(0) and self._reachable():
            try:
                with self._hospital_store() as hospital:
                    earlier = hospital.find_repeat(request, repeat_window, now)
                if earlier is not None:
                    return earlier
            except StoreUnavailableError as exc:
                log.warning("hospital store unreachable, checking in from the journal: %s", exc)
        stored = self._journal.check_in_once(
            request,
            insurance_status,
            insurance_code=insurance_code,
            coverage=coverage,
            demographics_from_his=demographics_from_his,
            now=now,
            hold_for=hold_for,
            repeat_window=repeat_window,
        )
        self._wake.set()
        return stored

    # Outbox: workers deliver from the hospital's store; a delivery made before the
    # check-in was handed on is recorded in the journal and handed on with it.

    def claim_due(
        self, now: datetime, lease: timedelta, limit: int = 50, queue: Queue = Queue.HIS
    ) -> list[OutboxMessage]:
        with self._hospital_store() as hospital:
            return hospital.claim_due(now, lease, limit, queue)

    def release(
        self, keys: Iterable[str], now: datetime | None = None, queue: Queue = Queue.HIS
    ) -> None:
        with self._hospital_store() as hospital:
            hospital.release(keys, now, queue)

    def mark_delivered(
        self,
        key: str,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
        receipt: Xml0Receipt | None = None,
    ) -> None:
        self._record(key, queue, lambda store: store.mark_delivered(key, now, queue, receipt))

    def mark_failed(
        self,
        key: str,
        error: str,
        retry_at: datetime | None,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
    ) -> None:
        self._record(key, queue, lambda store: store.mark_failed(key, error, retry_at, now, queue))

    def _record(self, key: str, queue: Queue, outcome: Callable[[Store], None]) -> None:
        """Record ``outcome`` of message ``key`` where the message is: in the journal while
        its check-in is not handed on (under the hand-on lock), else in the hospital's store."""
        with self._handoff:
            if self._journal.holds_message(key, queue):
                outcome(self._journal)
                return
        with self._hospital_store() as hospital:
            outcome(hospital)

    def outbox_counts(self, queue: Queue = Queue.HIS) -> dict[str, int]:
        with self._hospital_store() as hospital:
            return hospital.outbox_counts(queue)

    def xml0_report(self, checkin_id: str) -> XmlReport | None:
        with self._hospital_store() as hospital:
            found = hospital.xml0_report(checkin_id)
        return found if found is not None else self._journal.xml0_report(checkin_id)

    def record_event(self, action: str, detail: str = "", now: datetime | None = None) -> None:
        self._journal.record_event(action, detail, now)

    def events_since(self, actions: Collection[str], reset_by: str) -> list[datetime]:
        return self._journal.events_since(actions, reset_by)

    # The background thread.

    def hand_on(self) -> HandOnReport:
        """Top the leases up, hand the journal on, top up again, once;
        :class:`StoreUnavailableError` when the hospital's store cannot be reached. The
        leases come first: a backlog that fails to go through must not starve them."""
        leased = self._top_up_leases()
        handed = 0
        while records := self._journal.journal(self._settings.batch):
            with self._hospital_store() as hospital:
                hospital.take_journal(records, self._clock())
            ids = [record.checkin["id"] for record in records]
            with self._handoff:
                self._journal.mark_handed_on(ids)
                settled = self._settled_since(records)
            for key, status in settled:
                with self._hospital_store() as hospital:
                    if status is OutboxStatus.DELIVERED:
                        hospital.mark_delivered(key, self._clock())
                    else:
                        hospital.mark_failed(key, "rejected before hand-on", None, self._clock())
            handed += len(records)
            if len(records) < self._settings.batch:
                break
        leased += self._top_up_leases()
        return HandOnReport(handed, leased, self._journal.journal_backlog())

    def _settled_since(self, records: Iterable[JournalRecord]) -> list[tuple[str, OutboxStatus]]:
        """Messages delivered or rejected in the journal after ``records`` were read."""
        settled: list[tuple[str, OutboxStatus]] = []
        for record in records:
            outbox = record.outbox
            if outbox["status"] != OutboxStatus.PENDING:
                continue
            now = self._journal.message_status(outbox["key"])
            if now is not OutboxStatus.PENDING:
                settled.append((str(outbox["key"]), now))
        return settled

    def _top_up_leases(self) -> int:
        """Lease a block for each department, today and tomorrow, where few are left."""
        leased = 0
        today = self._clock().astimezone(VIETNAM_TIME).date()
        for day in (today, today + timedelta(days=1)):
            for department in self._settings.departments:
                if self._journal.numbers_left(department, day) >= self._settings.low_water:
                    continue
                with self._hospital_store() as hospital:
                    first, last = hospital.lease_block(
                        department, day, self._settings.block, self._clock()
                    )
                self._journal.add_lease(department, day, first, last)
                leased += 1
        return leased

    def describe(self) -> str:
        """One line for the staff screen: the hospital's store, the journal's backlog."""
        state = "online" if self.online else "unreachable, checking in from the journal"
        return f"hospital store {state}; {self._journal.journal_backlog()} not handed on"

    def numbers_left(self, department: str, day: date) -> int:
        return self._journal.numbers_left(department, day)

    def start(self) -> FleetStore:
        """Start the background thread (hand-on and leases)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fleet-hand-on", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._reachable():
                try:
                    self.hand_on()
                except StoreError as exc:
                    log.warning("journal not handed on yet: %s", exc)
                except Exception:  # keep handing on whatever one pass hit
                    log.exception("journal hand-on pass failed")
            self._wake.wait(self._settings.interval_s)
            self._wake.clear()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (after its current pass) and close both stores."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._open_lock:
            if self._hospital is not None:
                self._hospital.close()
        self._journal.close()
