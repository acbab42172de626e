"""The store: check-ins, queue numbers, outboxes and the audit log, in SQLite or PostgreSQL
(docs/architecture.md, "Storage"; docs/hospital_adapter.md, "Many kiosks").

One check-in is one transaction: the department's ticket counter, the check-in row, its
outbox message and its audit entry are committed together or not at all, so a process
killed mid-check-in loses nothing committed and leaves nothing half-written, and every
process sharing the database gets unique ticket numbers. The same transaction first looks
for a recent check-in of the same person in the same department (:meth:`Store.check_in_once`):
a patient tapping again after a crash or a lost answer gets that one back, not a second.

Delivery is at-least-once with an idempotency key: a worker *claims* due messages by
pushing their ``next_attempt_at`` forward by a lease (on PostgreSQL under ``FOR UPDATE SKIP
LOCKED``, so workers of many kiosks never claim the same message at once), sends them, then
marks them delivered; a worker that dies leaves the lease to expire. Receivers deduplicate
on the key (HL7 MSH-10, FHIR identifier), which makes the effect exactly once.

A key check row tells a wrong master key apart from tampering. Every database failure is a
:class:`StoreError` (:class:`StoreUnavailableError` when the server cannot be reached);
raised by a write, nothing of that write was recorded.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hospital_adapter.errors import (
    InvalidInputError,
    NoNumbersLeftError,
    StoreError,
    StoreKeyError,
)
from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.gateway.wire import CoverageCard
from hospital_adapter.identity import PatientIdentity
from hospital_adapter.store.audit import (
    EMPTY,
    AuditEntry,
    ChainHead,
    checkpoint_mac,
    checkpoint_valid,
    link,
    verify_against_checkpoint,
    verify_chain,
)
from hospital_adapter.store.connection import (
    Connection,
    Dialect,
    Locking,
    Rows,
    is_postgres,
    locking,
)
from hospital_adapter.store.crypto import StoreCrypto
from hospital_adapter.store.queue import QueueEntry, QueueStatus
from hospital_adapter.visit import (
    VIETNAM_TIME,
    InsuranceStatus,
    Priority,
    Visit,
    VisitRequest,
    utc_now,
)

log = logging.getLogger(__name__)


class OutboxStatus(enum.StrEnum):
    """Values of ``outbox.status``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REJECTED = "rejected"


class Queue(enum.StrEnum):
    """The store's outboxes, each a table of the same shape: registrations for the HIS, and
    XML0 reports for the BHXH gateway (docs/domain.md §3.7), one per check-in whose BHYT card
    the gateway confirmed, queued in the check-in's transaction."""

    HIS = "outbox"
    XML0 = "xml0_outbox"


class Numbering(enum.Enum):
    """Where a store takes its ticket numbers."""

    COUNTER = "counter"
    """Its own counter per department and day: the hospital's store, or a lone kiosk's."""
    LEASED = "leased"
    """Blocks of the hospital's numbers leased ahead of time (:meth:`Store.add_lease`): a
    kiosk's journal while the hospital's store cannot be reached."""


@dataclass(frozen=True)
class XmlReport:
    """The state of a check-in's XML0 report: ``receipt`` once the gateway accepted it."""

    status: OutboxStatus
    receipt: Xml0Receipt | None
    last_error: str


@dataclass(frozen=True)
class OutboxMessage:
    """A registration waiting for delivery; ``key`` is its idempotency key."""

    key: str
    visit: Visit
    attempts: int


@dataclass(frozen=True)
class StoredCheckIn:
    """What :meth:`Store.check_in_once` returns: the check-in and its outbox status."""

    visit: Visit
    repeated: bool
    """True when an earlier check-in was returned and nothing new was stored (a re-tap)."""
    registration: OutboxStatus


@dataclass(frozen=True)
class CheckInSummary:
    """A check-in without personal data, for listings."""

    checkin_id: str
    service_date: date
    department: str
    ticket: int
    arrived_at: datetime
    visit_kind: str
    insurance_status: str
    insurance_code: str
    registration: str


@dataclass(frozen=True)
class JournalRecord:
    """A check-in a kiosk made while the hospital's store was unreachable, as stored rows
    (personal fields still sealed: the hospital's stores share one master key)."""

    checkin: dict[str, Any]
    outbox: dict[str, Any]
    xml0: dict[str, Any] | None


_CHECKPOINT = "audit_checkpoint"
_KEY_CHECK = "store_key"
_CALL_ORDER = "prioritized DESC, arrived_at, ticket"
MAX_ROOM_CHARS = 16


def _context(queue: Queue, checkin_id: str) -> bytes:
    """What a queued payload is sealed to: its table and check-in."""
    return f"{queue}/{checkin_id}".encode()


def _today(now: datetime | None = None) -> date:
    return (now or utc_now()).astimezone(VIETNAM_TIME).date()


DEFAULT_TIMEOUT_S = 10.0
"""Longest wait for a PostgreSQL server (connecting, each transaction); a kiosk waits less
(``[store] timeout_s``)."""


def open_connection(location: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Connection:
    """A PostgreSQL connection for a ``postgresql://`` URL, else the SQLite file at ``location``."""
    if isinstance(location, str) and is_postgres(location):
        from hospital_adapter.store.postgres import PostgresConnection

        return PostgresConnection(location, timeout_s)
    from hospital_adapter.store.sqlite import SqliteConnection  # each driver when used

    return SqliteConnection(location)


class Store:
    """Check-ins, ticket numbers, the queue, the outboxes and the audit log in one database:
    an SQLite file (``location`` a path) or PostgreSQL (a ``postgresql://`` URL).

    Thread-safe (one connection behind a lock); open one per process. ``kiosk`` names the
    kiosk writing (kept with each check-in); ``numbering`` is where numbers come from.
    """

    def __init__(
        self,
        location: str | Path,
        master_key: bytes,
        *,
        kiosk: str = "",
        numbering: Numbering = Numbering.COUNTER,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Open (or create) the store; :class:`StoreKeyError` if ``master_key`` is not the
        key it was created with, :class:`StoreError` if it cannot be opened
        (:class:`StoreUnavailableError` if the server does not answer within ``timeout_s``)."""
        self._crypto = StoreCrypto(master_key)
        self._lock = threading.RLock()
        self._kiosk = kiosk
        self._numbering = numbering
        self._sql = open_connection(location, timeout_s)
        self.dialect = self._sql.dialect
        try:
            with self._transaction(f"cannot open the store {self._sql.location}"):
                self._sql.lock_subject("store-open")
                self._check_key()
                self._create_checkpoint()
        except StoreError:
            self._sql.close()
            raise

    @property
    def location(self) -> str:
        """Where the store is, without secrets."""
        return self._sql.location

    def close(self) -> None:
        self._sql.close()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self._sql.execute(sql, params)

    @contextmanager
    def _transaction(self, failure: str = "not recorded") -> Iterator[None]:
        """A write transaction under the lock: any database error (busy, read-only, disk
        full, connection lost, at any statement or the commit) rolls back and becomes
        :class:`StoreError` ("``failure``: ..."): nothing recorded."""
        with self._lock, self._sql.transaction(failure):
            yield

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """One consistent snapshot under the lock; an error becomes :class:`StoreError`."""
        with self._lock, self._sql.snapshot():
            yield

    def _table_exists(self, name: str) -> bool:
        if self.dialect is Dialect.SQLITE:
            query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            query = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"
        return self._execute(query, (name,)).fetchone() is not None

    def _check_key(self) -> None:
        """Compare the master key with the one the store was made with (its key check
        row). A store made before key checks adopts the key if its checkpoint or first
        audit entry authenticates under it; else the key is wrong."""
        if not self._table_exists(_KEY_CHECK):
            self._adopt_key()
            return
        row = self._execute(f"SELECT mac FROM {_KEY_CHECK} WHERE id = 1").fetchone()
        if row is None or row[0] != self._crypto.key_check:
            raise StoreKeyError(
                "wrong store key: this store was created with another"
                " CCCD_HOSPITAL_KEY / [store] key_file"
            )

    def _adopt_key(self) -> None:
        first = self._execute(
            "SELECT seq, at, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
            " LIMIT 1"
        ).fetchone()
        if first is not None:
            entry = AuditEntry(*first)
            chain = entry.hash == link(
                self._crypto.chain_mac, entry.prev_hash, entry.seq, entry.at, entry.action,
                entry.subject, entry.detail,
            )  # fmt: skip
            stored = self._read_checkpoint() if self._table_exists(_CHECKPOINT) else None
            checkpoint = stored is not None and checkpoint_valid(
                self._crypto.checkpoint_mac, stored[0], stored[1]
            )
            if not (chain or checkpoint):
                raise StoreKeyError(
                    "wrong store key: neither the audit log nor its checkpoint authenticates"
                    " under this CCCD_HOSPITAL_KEY / [store] key_file"
                )
        self._execute(
            f"CREATE TABLE {_KEY_CHECK} (id INTEGER PRIMARY KEY CHECK (id = 1), mac TEXT NOT NULL)"
        )
        self._execute(
            f"INSERT INTO {_KEY_CHECK} (id, mac) VALUES (1, ?)", (self._crypto.key_check,)
        )

    def _create_checkpoint(self) -> None:
        """Create the audit checkpoint (one row) with its table. A store made before
        checkpoints existed adopts the head of its chain as it is now."""
        if self._table_exists(_CHECKPOINT):
            return
        self._execute(
            f"CREATE TABLE {_CHECKPOINT} (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " count INTEGER NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL)"
        )
        self._execute(f"INSERT INTO {_CHECKPOINT} (id, count, hash, mac) VALUES (1, 0, '', '')")
        self._write_checkpoint(self._tail() or EMPTY)

    def _tail(self) -> ChainHead | None:
        row = self._execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else ChainHead(row[0], row[1])

    def _read_checkpoint(self, lock: bool = False) -> tuple[ChainHead, str] | None:
        """The checkpoint; ``lock`` holds its row until the transaction ends (PostgreSQL:
        appends from many processes take turns there)."""
        clause = locking(self.dialect, Locking.UPDATE) if lock else ""
        found = self._execute(
            f"SELECT count, hash, mac FROM {_CHECKPOINT} WHERE id = 1{clause}"
        ).fetchone()
        return None if found is None else (ChainHead(found[0], found[1]), found[2])

    def _write_checkpoint(self, head: ChainHead) -> None:
        mac = checkpoint_mac(self._crypto.checkpoint_mac, head)
        self._execute(
            f"UPDATE {_CHECKPOINT} SET count = ?, hash = ?, mac = ? WHERE id = 1",
            (head.count, head.hash, mac),
        )

    def _audit(self, now: datetime, action: str, subject: str, detail: str) -> None:
        """Append an entry and move the checkpoint to it, in the caller's transaction.

        The entry follows the checkpoint's head, not the table's last row, so entries
        deleted from the end stay missing (verification keeps failing) instead of being
        written over. A missing or forged checkpoint is left as it is, for
        :meth:`verify_audit` to report, and the entry follows the table's last row: the
        check-in itself is never refused for it.
        """
        stored = self._read_checkpoint(lock=True)
        trusted = stored is not None and checkpoint_valid(
            self._crypto.checkpoint_mac, stored[0], stored[1]
        )
        if stored is not None and trusted:
            head = stored[0]
        else:
            log.error("audit checkpoint missing or forged: run `cccd-hospital audit verify`")
            head = self._tail() or EMPTY
        seq, at = head.count + 1, now.isoformat()
        digest = link(self._crypto.chain_mac, head.hash, seq, at, action, subject, detail)
        self._execute(
            "INSERT INTO audit (seq, at, action, subject, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, at, action, subject, detail, head.hash, digest),
        )
        if trusted:
            self._write_checkpoint(ChainHead(seq, digest))

    def _insert(self, table: str, row: dict[str, Any], clause: str = "") -> Rows:
        """``INSERT`` ``row`` into ``table``, ``clause`` after the values (``ON CONFLICT``...)."""
        marks = ", ".join("?" * len(row))
        return self._execute(
            f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks}){clause}", tuple(row.values())
        )

    def _take_numbers(self, department: str, day: str, count: int) -> int:
        """Move ``department``'s counter on ``day`` on by ``count`` (in the caller's
        transaction); the last number taken."""
        row = self._execute(
            "INSERT INTO tickets (department, service_date, last) VALUES (?, ?, ?)"
            " ON CONFLICT (department, service_date) DO UPDATE SET last = tickets.last + ?"
            " RETURNING last",
            (department, day, count, count),
        ).fetchone()
        return int(row[0])

    def check_in(
        self,
        request: VisitRequest,
        insurance_status: InsuranceStatus,
        *,
        insurance_code: str = "",
        coverage: CoverageCard | None = None,
        demographics_from_his: bool = False,
        now: datetime | None = None,
        hold_for: timedelta = timedelta(0),
    ) -> Visit:
        """Number, record and queue one new check-in atomically; return the stored visit.

        The outbox message is due ``hold_for`` after ``now``, so a worker leaves it alone
        while the caller tries to deliver it at once.
        """
        return self.check_in_once(
            request,
            insurance_status,
            insurance_code=insurance_code,
            coverage=coverage,
            demographics_from_his=demographics_from_his,
            now=now,
            hold_for=hold_for,
            repeat_window=timedelta(0),
        ).visit

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
        """:meth:`check_in`, unless the same person (the HMAC of the ID number) checked in
        to the same department on the same service day less than ``repeat_window`` ago.

        Then that latest check-in comes back (``repeated``, with its outbox status; the
        given insurance and choices are not used), and only a ``repeat`` audit entry is
        written: no ticket, no outbox message. Checked in the check-in's own transaction
        (serialised per patient), so simultaneous taps recorded in this store, from one
        process or several, get one check-in between them. A journal with no number left raises
        :class:`NoNumbersLeftError`.
        """
        now = now or utc_now()
        subject = self._crypto.pseudonym(request.identity.id_number)
        with self._transaction("check-in not recorded"):
            stored = self._repeat_of(request, subject, now, repeat_window)
            if stored is None:
                visit = self._insert_check_in(
                    request,
                    insurance_status,
                    insurance_code,
                    coverage,
                    demographics_from_his,
                    now,
                    subject,
                    hold_for,
                )
                stored = StoredCheckIn(visit, repeated=False, registration=OutboxStatus.PENDING)
                self._audit(
                    now, "checkin", subject,
                    f"department={request.department} ticket={visit.ticket}"
                    f" insurance={insurance_status.value} identity={request.identity.trust.value}"
                    + (" demographics=his" if demographics_from_his else ""),
                )  # fmt: skip
                log.info(
                    "check-in recorded: department %s ticket %d", visit.department, visit.ticket
                )
        return stored

    def find_repeat(
        self, request: VisitRequest, repeat_window: timedelta, now: datetime | None = None
    ) -> StoredCheckIn | None:
        """The check-in :meth:`check_in_once` would give back for ``request`` (with its
        ``repeat`` audit entry), or ``None`` and nothing written: a kiosk asks the
        hospital's store before numbering a patient from its own journal."""
        now = now or utc_now()
        subject = self._crypto.pseudonym(request.identity.id_number)
        with self._transaction("check-in not recorded"):
            return self._repeat_of(request, subject, now, repeat_window)

    def _repeat_of(
        self, request: VisitRequest, subject: str, now: datetime, window: timedelta
    ) -> StoredCheckIn | None:
        """:meth:`_latest_within` for ``request`` under the patient's lock, audited as a
        ``repeat`` when found (in the caller's transaction)."""
        self._sql.lock_subject(subject)
        earlier = self._latest_within(subject, request.department, _today(now), now, window)
        if earlier is not None:
            detail = f"department={request.department} ticket={earlier.visit.ticket}"
            self._audit(now, "repeat", subject, detail)
            log.info("repeat check-in, the earlier one returned: ticket %d", earlier.visit.ticket)
        return earlier

    def _latest_within(
        self,
        subject: str,
        department: str,
        service_date: date,
        now: datetime,
        window: timedelta,
    ) -> StoredCheckIn | None:
        """The latest check-in of ``subject`` in ``department`` on ``service_date`` that
        arrived less than ``window`` before ``now`` (none if ``window`` is not positive)."""
        if window <= timedelta(0):
            return None
        rows = self._execute(
            "SELECT c.id, c.arrived_at, c.personal, o.status FROM checkins c"
            " JOIN outbox o ON o.checkin_id = c.id"
            " WHERE c.subject = ? AND c.service_date = ? AND c.department = ?"
            " ORDER BY c.arrived_at DESC, c.ticket DESC",
            (subject, service_date.isoformat(), department),
        ).fetchall()
        recent = [row for row in rows if now - datetime.fromisoformat(row[1]) < window]
        if not recent:
            return None
        checkin_id, _, personal, status = recent[0]  # the latest arrival
        visit = self._open_visit(bytes(personal), b"checkins/" + checkin_id.encode())
        return StoredCheckIn(visit, repeated=True, registration=OutboxStatus(status))

    def _next_ticket(self, department: str, service_date: date) -> int:
        """The next number of ``department`` on ``service_date`` (in the caller's
        transaction): the counter's, or the first unused number of the leased blocks."""
        day = service_date.isoformat()
        if self._numbering is Numbering.COUNTER:
            return self._take_numbers(department, day, 1)
        row = self._execute(
            "UPDATE leases SET next = next + 1 WHERE department = ? AND service_date = ?"
            " AND first = (SELECT min(first) FROM leases"
            "  WHERE department = ? AND service_date = ? AND next <= last)"
            " RETURNING next - 1",
            (department, day, department, day),
        ).fetchone()
        if row is None:
            raise NoNumbersLeftError(
                f"no queue numbers left for {department} on {day}: the hospital's store"
                " is unreachable and this kiosk's leased blocks are used up"
            )
        return int(row[0])

    def _insert_check_in(
        self,
        request: VisitRequest,
        insurance_status: InsuranceStatus,
        insurance_code: str,
        coverage: CoverageCard | None,
        demographics_from_his: bool,
        now: datetime,
        subject: str,
        hold_for: timedelta,
    ) -> Visit:
        """Take the next ticket, insert the check-in and its outbox messages (in the
        caller's transaction)."""
        checkin_id = uuid.uuid4().hex
        service_date = _today(now)
        visit = Visit(
            checkin_id=checkin_id,
            identity=request.identity,
            department=request.department,
            ticket=self._next_ticket(request.department, service_date),
            service_date=service_date,
            arrived_at=now,
            visit_kind=request.visit_kind,
            priority=request.priority,
            insurance_status=insurance_status,
            insurance_code=insurance_code,
            coverage=coverage,
            demographics_from_his=demographics_from_his,
        )
        payload = json.dumps(visit.to_dict(), ensure_ascii=False).encode()
        self._insert(
            "checkins",
            {
                "id": checkin_id,
                "service_date": service_date.isoformat(),
                "department": request.department,
                "ticket": visit.ticket,
                "arrived_at": now.isoformat(),
                "visit_kind": request.visit_kind.value,
                "insurance_status": insurance_status.value,
                "insurance_code": insurance_code,
                "subject": subject,
                "personal": self._crypto.seal(payload, b"checkins/" + checkin_id.encode()),
                "prioritized": int(request.priority is not Priority.NONE),
                "kiosk": self._kiosk,
            },
        )
        message = {
            "key": visit.message_id,
            "checkin_id": checkin_id,
            "payload": self._crypto.seal(payload, _context(Queue.HIS, checkin_id)),
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": (now + hold_for).timestamp(),
        }
        self._insert(Queue.HIS, message)
        if coverage is not None and insurance_status is InsuranceStatus.VERIFIED:
            sealed = self._crypto.seal(payload, _context(Queue.XML0, checkin_id))
            report = {"key": checkin_id, "payload": sealed, "next_attempt_at": now.timestamp()}
            self._insert(Queue.XML0, message | report)
        return visit

    def claim_due(
        self, now: datetime, lease: timedelta, limit: int = 50, queue: Queue = Queue.HIS
    ) -> list[OutboxMessage]:
        """Pending messages of ``queue`` due by ``now``, leased to the caller for ``lease``;
        on PostgreSQL rows another worker is claiming are skipped, not waited for."""
        skip = locking(self.dialect, Locking.SKIP_LOCKED)
        with self._transaction("outbox not claimed"):
            rows = self._execute(
                f"SELECT key, checkin_id, payload, attempts FROM {queue}"
                " WHERE status = ? AND next_attempt_at <= ?"
                f" ORDER BY next_attempt_at LIMIT ?{skip}",
                (OutboxStatus.PENDING, now.timestamp(), limit),
            ).fetchall()
            self._sql.executemany(
                f"UPDATE {queue} SET next_attempt_at = ? WHERE key = ?",
                [((now + lease).timestamp(), row[0]) for row in rows],
            )
        return [
            OutboxMessage(key, self._open_visit(bytes(payload), _context(queue, cid)), attempts)
            for key, cid, payload, attempts in rows
        ]

    def release(
        self, keys: Iterable[str], now: datetime | None = None, queue: Queue = Queue.HIS
    ) -> None:
        """Hand claimed but unsent messages back, due at ``now`` instead of at the end of
        their lease (a worker that stops mid-pass)."""
        due = (now or utc_now()).timestamp()
        with self._transaction("outbox not released"):
            self._sql.executemany(
                f"UPDATE {queue} SET next_attempt_at = ? WHERE key = ? AND status = ?",
                [(due, key, OutboxStatus.PENDING) for key in keys],
            )

    def _open_visit(self, blob: bytes, context: bytes) -> Visit:
        try:
            return Visit.from_dict(json.loads(self._crypto.open(blob, context)))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"stored visit cannot be read: {exc}") from None

    def mark_delivered(
        self,
        key: str,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
        receipt: Xml0Receipt | None = None,
    ) -> None:
        """Record a delivery and the receiver's ``receipt``, if it gave one (the gateway
        does for XML0; the HIS gives none)."""
        now = now or utc_now()
        with self._transaction("delivery not recorded"):
            subject = self._subject_of(key, queue)
            self._execute(
                f"UPDATE {queue} SET status = ?, attempts = attempts + 1, delivered_at = ?,"
                " last_error = NULL WHERE key = ?",
                (OutboxStatus.DELIVERED, now.isoformat(), key),
            )
            detail = f"message={key}"
            if receipt is not None:
                self._execute(
                    f"UPDATE {queue} SET receipt = ?, received_at = ? WHERE key = ?",
                    (receipt.transaction_id, receipt.received_at.isoformat(), key),
                )
                detail += f" receipt={receipt.transaction_id}"
            self._audit(
                now, "delivered" if queue is Queue.HIS else f"{queue}.delivered", subject, detail
            )

    def mark_failed(
        self,
        key: str,
        error: str,
        retry_at: datetime | None,
        now: datetime | None = None,
        queue: Queue = Queue.HIS,
    ) -> None:
        """Record a failed attempt: retry at ``retry_at``, or reject for good if ``None``.

        ``error`` must hold no personal data (the package's error messages never do).
        """
        now = now or utc_now()
        status = OutboxStatus.PENDING if retry_at is not None else OutboxStatus.REJECTED
        with self._transaction("failed attempt not recorded"):
            subject = self._subject_of(key, queue)
            self._execute(
                f"UPDATE {queue} SET status = ?, attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = ? WHERE key = ?",
                (status, error[:500], (retry_at or now).timestamp(), key),
            )
            if status == OutboxStatus.REJECTED:
                action = "rejected" if queue is Queue.HIS else f"{queue}.rejected"
                self._audit(now, action, subject, f"message={key} error={error[:200]}")

    def xml0_report(self, checkin_id: str) -> XmlReport | None:
        """The XML0 report of a check-in, ``None`` when none was queued (no confirmed card)."""
        with self._reading():
            row = self._execute(
                f"SELECT status, receipt, received_at, last_error FROM {Queue.XML0}"
                " WHERE checkin_id = ?",
                (checkin_id,),
            ).fetchone()
        if row is None:
            return None
        status, receipt, received_at, error = row
        done = (
            None if receipt is None else Xml0Receipt(receipt, datetime.fromisoformat(received_at))
        )
        return XmlReport(OutboxStatus(status), done, error or "")

    def _subject_of(self, key: str, queue: Queue = Queue.HIS) -> str:
        row = self._execute(
            f"SELECT c.subject FROM {queue} o JOIN checkins c ON c.id = o.checkin_id"
            " WHERE o.key = ?",
            (key,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no outbox message {key}")
        return str(row[0])

    def holds_message(self, key: str, queue: Queue = Queue.HIS) -> bool:
        """Whether this store has message ``key`` of a check-in not yet handed on (a
        journal's: not yet in the hospital's store)."""
        with self._reading():
            row = self._execute(
                f"SELECT 1 FROM {queue} o JOIN checkins c ON c.id = o.checkin_id"
                " WHERE o.key = ? AND c.synced = 0",
                (key,),
            ).fetchone()
        return row is not None

    def message_status(self, key: str, queue: Queue = Queue.HIS) -> OutboxStatus:
        """The status of message ``key``: :class:`StoreError` if there is none."""
        with self._reading():
            row = self._execute(f"SELECT status FROM {queue} WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"no outbox message {key}")
        return OutboxStatus(row[0])

    def retry_rejected(self, now: datetime | None = None) -> int:
        """Put rejected messages back in the queue (after the HIS or the data was fixed)."""
        now = now or utc_now()
        with self._transaction("rejected messages not re-queued"):
            count = self._execute(
                "UPDATE outbox SET status = ?, next_attempt_at = ? WHERE status = ?",
                (OutboxStatus.PENDING, now.timestamp(), OutboxStatus.REJECTED),
            ).rowcount
            if count:
                self._audit(now, "retry", "", f"messages={count}")
        return count

    def outbox_counts(self, queue: Queue = Queue.HIS) -> dict[str, int]:
        """Number of messages of ``queue`` per status (``pending``, ``delivered``,
        ``rejected``)."""
        with self._reading():
            rows = self._execute(f"SELECT status, count(*) FROM {queue} GROUP BY status")
            counts = {status.value: 0 for status in OutboxStatus}
            counts.update({status: n for status, n in rows.fetchall()})
        return counts

    def registration_status(self, checkin_id: str) -> str:
        with self._reading():
            row = self._execute(
                "SELECT status FROM outbox WHERE checkin_id = ?", (checkin_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no check-in {checkin_id}")
        return str(row[0])

    def checkins(self, service_date: date | None = None) -> list[CheckInSummary]:
        """Check-ins of one day (all days if ``None``), in ticket order, without personal data."""
        where, params = (
            ("WHERE c.service_date = ?", [service_date.isoformat()]) if service_date else ("", [])
        )
        with self._reading():
            rows = self._execute(
                "SELECT c.id, c.service_date, c.department, c.ticket, c.arrived_at, c.visit_kind,"
                " c.insurance_status, c.insurance_code, o.status FROM checkins c"
                f" JOIN outbox o ON o.checkin_id = c.id {where}"
                " ORDER BY c.service_date, c.department, c.ticket",
                params,
            ).fetchall()
        return [
            CheckInSummary(
                r[0],
                date.fromisoformat(r[1]),
                r[2],
                r[3],
                datetime.fromisoformat(r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
            )
            for r in rows
        ]

    def visit(self, checkin_id: str) -> Visit:
        """The full visit, personal data decrypted (for the counter and XML0)."""
        with self._reading():
            row = self._execute(
                "SELECT personal FROM checkins WHERE id = ?", (checkin_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no check-in {checkin_id}")
        return self._open_visit(bytes(row[0]), b"checkins/" + checkin_id.encode())

    def identity_pseudonym(self, identity: PatientIdentity) -> str:
        return self._crypto.pseudonym(identity.id_number)

    def _entries(self) -> list[AuditEntry]:
        rows = self._execute(
            "SELECT seq, at, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
        ).fetchall()
        return [AuditEntry(*row) for row in rows]

    def audit_entries(self) -> Iterator[AuditEntry]:
        with self._reading():
            entries = self._entries()
        return iter(entries)

    def verify_audit(self) -> int:
        """Check the audit chain and that it ends at the checkpoint (no newest entries
        deleted); return its length or raise :class:`AuditChainError`."""
        with self._reading():  # one snapshot of the entries and the checkpoint
            entries = self._entries()
            stored = self._read_checkpoint()
        head = verify_chain(self._crypto.chain_mac, entries)
        checkpoint, mac = (None, "") if stored is None else stored
        verify_against_checkpoint(self._crypto.checkpoint_mac, head, checkpoint, mac)
        return head.count

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete check-ins older than ``retention_days`` whose registration is settled
        (delivered or rejected) or, in a journal, handed on to the hospital's store;
        undelivered ones are kept. Returns the number deleted.

        A negative retention (a cut-off after today, which would also drop today's ticket
        counters) is refused with :class:`InvalidInputError`.
        """
        if retention_days < 0:
            raise InvalidInputError("retention_days", f"must be 0 or more, not {retention_days}")
        now = now or utc_now()
        cutoff = (_today(now) - timedelta(days=retention_days)).isoformat()
        with self._transaction("nothing purged"):
            ids = [
                row[0]
                for row in self._execute(
                    "SELECT c.id FROM checkins c JOIN outbox o ON o.checkin_id = c.id"
                    " WHERE c.service_date < ? AND (c.synced = 1 OR (o.status != ?"
                    f" AND NOT EXISTS (SELECT 1 FROM {Queue.XML0} x"
                    "  WHERE x.checkin_id = c.id AND x.status = ?)))",
                    (cutoff, OutboxStatus.PENDING, OutboxStatus.PENDING),
                ).fetchall()
            ]
            for queue in Queue:
                self._sql.executemany(
                    f"DELETE FROM {queue} WHERE checkin_id = ?", [(i,) for i in ids]
                )
            self._sql.executemany("DELETE FROM checkins WHERE id = ?", [(i,) for i in ids])
            self._execute("DELETE FROM tickets WHERE service_date < ?", (cutoff,))
            self._execute("DELETE FROM leases WHERE service_date < ?", (cutoff,))
            self._audit(now, "purge", "", f"before={cutoff} checkins={len(ids)}")
        return len(ids)

    def record_event(self, action: str, detail: str = "", now: datetime | None = None) -> None:
        """Append an audit entry about the installation itself (no subject): ``detail``
        must hold no personal data and no secret."""
        with self._transaction(f"{action} not recorded"):
            self._audit(now or utc_now(), action, "", detail)

    def events_since(self, actions: Collection[str], reset_by: str) -> list[datetime]:
        """When the ``actions`` entries after the newest ``reset_by`` entry were made,
        oldest first (the audit log as state that survives restarts)."""
        marks = ", ".join("?" * len(actions))
        with self._reading():
            rows = self._execute(
                f"SELECT at FROM audit WHERE action IN ({marks}) AND seq >"
                " coalesce((SELECT max(seq) FROM audit WHERE action = ?), 0) ORDER BY seq",
                (*actions, reset_by),
            ).fetchall()
        return [datetime.fromisoformat(row[0]) for row in rows]

    # The queue (hospital_adapter/store/queue.py).

    def queue(
        self, service_date: date | None = None, department: str | None = None
    ) -> list[QueueEntry]:
        """The tickets of ``service_date`` (today by default), of one department or all:
        waiting ones first in call order, then called and served ones."""
        day = (service_date or _today()).isoformat()
        where, params = "service_date = ?", [day]
        if department is not None:
            where, params = where + " AND department = ?", [day, department]
        with self._reading():
            rows = self._execute(
                "SELECT service_date, department, ticket, queue_status, prioritized, arrived_at,"
                f" room, called_at FROM checkins WHERE {where} ORDER BY"
                f" CASE queue_status WHEN 'waiting' THEN 0 WHEN 'called' THEN 1 ELSE 2 END,"
                f" {_CALL_ORDER}",
                params,
            ).fetchall()
        return [
            QueueEntry(
                service_date=date.fromisoformat(r[0]),
                department=r[1],
                ticket=r[2],
                status=QueueStatus(r[3]),
                priority=bool(r[4]),
                arrived_at=datetime.fromisoformat(r[5]),
                room=r[6],
                called_at=None if r[7] is None else datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]

    def call_next(
        self, department: str, room: str, now: datetime | None = None
    ) -> QueueEntry | None:
        """``room`` calls the next waiting ticket of ``department`` (priority first, then
        arrival): the ticket it called before is served. ``None`` when nobody waits.
        Counters calling at once each get a different ticket."""
        if not room or len(room) > MAX_ROOM_CHARS or not room.isprintable():
            raise InvalidInputError("room", f"1 to {MAX_ROOM_CHARS} printable characters")
        now = now or utc_now()
        day = _today(now).isoformat()
        skip = locking(self.dialect, Locking.SKIP_LOCKED)
        with self._transaction("call not recorded"):
            self._execute(
                "UPDATE checkins SET queue_status = ?, served_at = ?"
                " WHERE service_date = ? AND room = ? AND queue_status = ?",
                (QueueStatus.SERVED, now.isoformat(), day, room, QueueStatus.CALLED),
            )
            row = self._execute(
                "SELECT id, ticket, prioritized, arrived_at, subject FROM checkins"
                " WHERE service_date = ? AND department = ? AND queue_status = ?"
                f" ORDER BY {_CALL_ORDER} LIMIT 1{skip}",
                (day, department, QueueStatus.WAITING),
            ).fetchone()
            if row is None:
                return None
            checkin_id, ticket, prioritized, arrived_at, subject = row
            self._execute(
                "UPDATE checkins SET queue_status = ?, room = ?, called_at = ? WHERE id = ?",
                (QueueStatus.CALLED, room, now.isoformat(), checkin_id),
            )
            self._audit(
                now, "call", subject, f"department={department} ticket={ticket} room={room}"
            )
        return QueueEntry(
            service_date=date.fromisoformat(day),
            department=department,
            ticket=ticket,
            status=QueueStatus.CALLED,
            priority=bool(prioritized),
            arrived_at=datetime.fromisoformat(arrived_at),
            room=room,
            called_at=now,
        )

    # Many kiosks: numbers leased in blocks, journals handed on (hospital_adapter/store/fleet.py).

    def lease_block(
        self, department: str, service_date: date, size: int, now: datetime | None = None
    ) -> tuple[int, int]:
        """Take ``size`` numbers of ``department`` on ``service_date`` off the counter for
        this store's kiosk: the first and last of the block, which nobody else will get."""
        if not 1 <= size <= 1000:
            raise InvalidInputError("size", f"1 to 1000 numbers, not {size}")
        now = now or utc_now()
        day = service_date.isoformat()
        with self._transaction("no numbers leased"):
            last = self._take_numbers(department, day, size)
            first = last - size + 1
            self._insert(
                "leased_blocks",
                {"kiosk": self._kiosk, "department": department, "service_date": day,
                 "first": first, "last": last, "leased_at": now.isoformat()},
            )  # fmt: skip
            self._audit(
                now, "lease", "", f"kiosk={self._kiosk} department={department} date={day}"
                f" first={first} last={last}",
            )  # fmt: skip
        return first, last

    def add_lease(self, department: str, service_date: date, first: int, last: int) -> None:
        """Keep a block leased from the hospital's store, to number from while cut off."""
        with self._transaction("lease not kept"):
            self._insert(
                "leases",
                {"department": department, "service_date": service_date.isoformat(),
                 "first": first, "next": first, "last": last},
            )  # fmt: skip

    def numbers_left(self, department: str, service_date: date) -> int:
        """How many leased numbers of ``department`` on ``service_date`` are unused."""
        with self._reading():
            (left,) = self._execute(
                "SELECT coalesce(sum(last - next + 1), 0) FROM leases"
                " WHERE department = ? AND service_date = ?",
                (department, service_date.isoformat()),
            ).fetchone()
        return int(left)

    def journal(self, limit: int = 100) -> list[JournalRecord]:
        """Check-ins not yet handed on to the hospital's store, oldest first, as rows."""
        with self._reading():
            checkins = self._rows(
                "SELECT * FROM checkins WHERE synced = 0 ORDER BY arrived_at LIMIT ?", (limit,)
            )
            records = []
            for checkin in checkins:
                (outbox,) = self._rows(
                    f"SELECT * FROM {Queue.HIS} WHERE checkin_id = ?", (checkin["id"],)
                )
                xml0 = self._rows(
                    f"SELECT * FROM {Queue.XML0} WHERE checkin_id = ?", (checkin["id"],)
                )
                records.append(JournalRecord(checkin, outbox, xml0[0] if xml0 else None))
        return records

    def journal_backlog(self) -> int:
        """How many check-ins are not yet handed on to the hospital's store."""
        with self._reading():
            (count,) = self._execute("SELECT count(*) FROM checkins WHERE synced = 0").fetchone()
        return int(count)

    def _rows(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        cursor = self._execute(sql, params)
        names = [column[0] for column in cursor.description]  # type: ignore[attr-defined]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def take_journal(self, records: Sequence[JournalRecord], now: datetime | None = None) -> int:
        """Add check-ins from a kiosk's journal, each once however often it is handed
        (a retry after a lost answer adds nothing); returns how many were new. A number
        another check-in already has is refused (:class:`StoreError`), never overwritten."""
        now = now or utc_now()
        added = 0
        with self._transaction("journal not taken"):
            for record in records:
                checkin = record.checkin | {"synced": 0}
                new = self._insert("checkins", checkin, " ON CONFLICT (id) DO NOTHING RETURNING id")
                if new.fetchone() is None:
                    continue
                added += 1
                self._insert(Queue.HIS, record.outbox)
                if record.xml0 is not None:
                    self._insert(Queue.XML0, record.xml0)
                self._audit(
                    now, "checkin", checkin["subject"],
                    f"department={checkin['department']} ticket={checkin['ticket']}"
                    f" insurance={checkin['insurance_status']} kiosk={checkin['kiosk']} journal=1",
                )  # fmt: skip
        return added

    def mark_handed_on(self, checkin_ids: Iterable[str]) -> None:
        """Mark journal check-ins as in the hospital's store now."""
        with self._transaction("journal not updated"):
            self._sql.executemany(
                "UPDATE checkins SET synced = 1 WHERE id = ?", [(i,) for i in checkin_ids]
            )
