"""The embedded store: SQLite in WAL mode through sqlite-utils (docs/architecture.md, "Storage").

One check-in is one ``BEGIN IMMEDIATE`` transaction: the department's ticket counter, the
check-in row, its outbox message and its audit entry are committed together or not at all,
so a process killed mid-check-in loses nothing committed and leaves nothing half-written,
and processes sharing the file get unique ticket numbers. The same transaction first looks
for a recent check-in of the same person in the same department (:meth:`Store.check_in_once`):
a patient tapping again after a crash or a lost answer gets that one back, not a second.

Delivery is at-least-once with an idempotency key: a worker *claims* due messages by
pushing their ``next_attempt_at`` forward by a lease, sends them, then marks them delivered;
a worker that dies leaves the lease to expire. Receivers deduplicate on the key (HL7
MSH-10, FHIR identifier), which makes the effect exactly once.

The file and its ``-wal`` and ``-shm`` are the owner's only (mode 0600; SQLite gives the
journal files the database's mode), deleted content is overwritten (``secure_delete``),
and a key check row tells a wrong master key apart from tampering. Every SQLite failure
is a :class:`StoreError`; raised by a write, nothing of that write was recorded.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from hospital_adapter.errors import InvalidInputError, StoreError, StoreKeyError
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
from hospital_adapter.store.crypto import StoreCrypto
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus, Visit, VisitRequest, utc_now

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0


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


_SCHEMA = {
    "tickets": (
        {"department": str, "service_date": str, "last": int},
        ("department", "service_date"),
    ),
    "checkins": (
        {
            "id": str,
            "service_date": str,
            "department": str,
            "ticket": int,
            "arrived_at": str,
            "visit_kind": str,
            "insurance_status": str,
            "insurance_code": str,
            "subject": str,
            "personal": bytes,
        },
        "id",
    ),
    "outbox": (
        {
            "key": str,
            "checkin_id": str,
            "payload": bytes,
            "status": str,
            "attempts": int,
            "next_attempt_at": float,
            "last_error": str,
            "delivered_at": str,
        },
        "key",
    ),
    "audit": (
        {
            "seq": int,
            "at": str,
            "action": str,
            "subject": str,
            "detail": str,
            "prev_hash": str,
            "hash": str,
        },
        "seq",
    ),
}


_SCHEMA[Queue.XML0] = (
    {**_SCHEMA[Queue.HIS][0], "receipt": str, "received_at": str},
    "key",
)
_NULLABLE = frozenset({"delivered_at", "last_error", "receipt", "received_at"})
_CHECKPOINT = "audit_checkpoint"
_KEY_CHECK = "store_key"
PRIVATE = 0o600
"""Mode of the store's files: the owner reads and writes, nobody else."""


def _make_private(path: Path) -> None:
    """Create the store file with mode 0600, or take group and others off an existing
    one we own and its ``-wal`` and ``-shm`` (a store made before this rule)."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with suppress(FileNotFoundError):
            info = os.stat(file)
            if info.st_mode & 0o077 and info.st_uid == os.geteuid():
                os.chmod(file, info.st_mode & 0o700)
                log.warning("store file %s was open to group or others: now the owner's", file)


def _context(queue: Queue, checkin_id: str) -> bytes:
    """What a queued payload is sealed to: its table and check-in."""
    return f"{queue}/{checkin_id}".encode()


class Store:
    """Check-ins, ticket numbers, the outbox and the audit log in one SQLite file.

    Thread-safe (one connection behind a lock); open one per process.
    """

    def __init__(self, path: str | Path, master_key: bytes) -> None:
        """Open (or create) the store; :class:`StoreKeyError` if ``master_key`` is not the
        key it was created with, :class:`StoreError` if it cannot be opened."""
        self._crypto = StoreCrypto(master_key)
        self._lock = threading.RLock()
        try:
            _make_private(Path(path))
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from None
        self._db = Database(conn)
        try:
            self._db.enable_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")
            with self._transaction(f"cannot open the store {path}"):
                for name, (columns, pk) in _SCHEMA.items():
                    self._db.table(name).create(
                        columns,
                        pk=pk,
                        not_null=set(columns) - _NULLABLE,
                        if_not_exists=True,
                    )
                self._db.execute(
                    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at)"
                )
                self._db.execute(
                    "CREATE INDEX IF NOT EXISTS checkins_day ON checkins(service_date, department)"
                )
                self._db.execute(
                    "CREATE INDEX IF NOT EXISTS checkins_subject"
                    " ON checkins(subject, service_date, department)"
                )
                self._db.execute("CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq)")
                if "priority" in self._db.table("checkins").columns_dict:
                    # Stores before the priority class was sealed: it is in `personal` too.
                    self._db.execute("ALTER TABLE checkins DROP COLUMN priority")
                self._check_key()
                self._create_checkpoint()
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open the store {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self, failure: str = "not recorded") -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front so that
        concurrent processes queue on the busy timeout instead of failing on upgrade.

        Any SQLite error (busy, read-only, disk full, at any statement or the commit)
        rolls back and becomes :class:`StoreError` ("``failure``: ..."): nothing recorded.
        """
        with self._lock:
            conn = self._db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.rollback()
                raise StoreError(f"{failure}: {exc}") from None

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Under the lock; an SQLite error becomes :class:`StoreError`."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise StoreError(f"store not readable: {exc}") from None

    def _check_key(self) -> None:
        """Compare the master key with the one the store was made with (its key check
        row). A store made before key checks adopts the key if its checkpoint or first
        audit entry authenticates under it; else the key is wrong."""
        if not self._db.table(_KEY_CHECK).exists():
            self._adopt_key()
            return
        row = self._db.execute(f"SELECT mac FROM {_KEY_CHECK} WHERE id = 1").fetchone()
        if row is None or row[0] != self._crypto.key_check:
            raise StoreKeyError(
                "wrong store key: this store was created with another"
                " CCCD_HOSPITAL_KEY / [store] key_file"
            )

    def _adopt_key(self) -> None:
        first = self._db.execute(
            "SELECT seq, at, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
            " LIMIT 1"
        ).fetchone()
        if first is not None:
            entry = AuditEntry(*first)
            chain = entry.hash == link(
                self._crypto.chain_mac, entry.prev_hash, entry.seq, entry.at, entry.action,
                entry.subject, entry.detail,
            )  # fmt: skip
            stored = self._read_checkpoint() if self._db.table(_CHECKPOINT).exists() else None
            checkpoint = stored is not None and checkpoint_valid(
                self._crypto.checkpoint_mac, stored[0], stored[1]
            )
            if not (chain or checkpoint):
                raise StoreKeyError(
                    "wrong store key: neither the audit log nor its checkpoint authenticates"
                    " under this CCCD_HOSPITAL_KEY / [store] key_file"
                )
        self._db.execute(
            f"CREATE TABLE {_KEY_CHECK} (id INTEGER PRIMARY KEY CHECK (id = 1), mac TEXT NOT NULL)"
        )
        self._db.execute(
            f"INSERT INTO {_KEY_CHECK} (id, mac) VALUES (1, ?)", (self._crypto.key_check,)
        )

    def _create_checkpoint(self) -> None:
        """Create the audit checkpoint (one row) with its table. A store made before
        checkpoints existed adopts the head of its chain as it is now."""
        if self._db.table(_CHECKPOINT).exists():
            return
        self._db.execute(
            f"CREATE TABLE {_CHECKPOINT} (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " count INTEGER NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL)"
        )
        self._db.execute(f"INSERT INTO {_CHECKPOINT} (id, count, hash, mac) VALUES (1, 0, '', '')")
        self._write_checkpoint(self._tail() or EMPTY)

    def _tail(self) -> ChainHead | None:
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else ChainHead(row[0], row[1])

    def _read_checkpoint(self) -> tuple[ChainHead, str] | None:
        row = self._db.execute(f"SELECT count, hash, mac FROM {_CHECKPOINT} WHERE id = 1")
        found = row.fetchone()
        return None if found is None else (ChainHead(found[0], found[1]), found[2])

    def _write_checkpoint(self, head: ChainHead) -> None:
        mac = checkpoint_mac(self._crypto.checkpoint_mac, head)
        self._db.execute(
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
        stored = self._read_checkpoint()
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
        self._db.execute(
            "INSERT INTO audit (seq, at, action, subject, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, at, action, subject, detail, head.hash, digest),
        )
        if trusted:
            self._write_checkpoint(ChainHead(seq, digest))

    def check_in(
        self,
        request: VisitRequest,
        insurance_status: InsuranceStatus,
        *,
        insurance_code: str = "",
        coverage: CoverageCard | None = None,
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
        now: datetime | None = None,
        hold_for: timedelta = timedelta(0),
        repeat_window: timedelta,
    ) -> StoredCheckIn:
        """:meth:`check_in`, unless the same person (the HMAC of the ID number) checked in
        to the same department on the same service day less than ``repeat_window`` ago.

        Then that latest check-in comes back (``repeated``, with its outbox status; the
        given insurance and choices are not used), and only a ``repeat`` audit entry is
        written: no ticket, no outbox message. Checked in the check-in's own transaction,
        so simultaneous taps (threads or processes) get one check-in between them.
        """
        now = now or utc_now()
        service_date = now.astimezone(VIETNAM_TIME).date()
        subject = self._crypto.pseudonym(request.identity.id_number)
        with self._transaction("check-in not recorded"):
            earlier = self._latest_within(
                subject, request.department, service_date, now, repeat_window
            )
            if earlier is None:
                stored = StoredCheckIn(
                    self._insert_check_in(
                        request,
                        insurance_status,
                        insurance_code,
                        coverage,
                        now,
                        service_date,
                        subject,
                        hold_for,
                    ),
                    repeated=False,
                    registration=OutboxStatus.PENDING,
                )
            else:
                stored = earlier
            action = "repeat" if stored.repeated else "checkin"
            detail = f"department={request.department} ticket={stored.visit.ticket}"
            if not stored.repeated:
                detail += (
                    f" insurance={insurance_status.value} identity={request.identity.trust.value}"
                )
            self._audit(now, action, subject, detail)
        log.info(
            "%s: department %s ticket %d",
            "repeat check-in, the earlier one returned" if stored.repeated else "check-in recorded",
            request.department,
            stored.visit.ticket,
        )
        return stored

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
        rows = self._db.execute(
            "SELECT c.id, c.arrived_at, c.personal, o.status FROM checkins c"
            " JOIN outbox o ON o.checkin_id = c.id"
            " WHERE c.subject = ? AND c.service_date = ? AND c.department = ?"
            " ORDER BY c.ticket DESC",
            (subject, service_date.isoformat(), department),
        ).fetchall()
        recent = [row for row in rows if now - datetime.fromisoformat(row[1]) < window]
        if not recent:
            return None
        checkin_id, _, personal, status = recent[0]  # the highest ticket: the latest
        visit = self._open_visit(personal, b"checkins/" + checkin_id.encode())
        return StoredCheckIn(visit, repeated=True, registration=OutboxStatus(status))

    def _insert_check_in(
        self,
        request: VisitRequest,
        insurance_status: InsuranceStatus,
        insurance_code: str,
        coverage: CoverageCard | None,
        now: datetime,
        service_date: date,
        subject: str,
        hold_for: timedelta,
    ) -> Visit:
        """Take the next ticket, insert the check-in and its outbox message (in the
        caller's transaction)."""
        checkin_id = uuid.uuid4().hex
        (ticket,) = self._db.execute(
            "INSERT INTO tickets (department, service_date, last) VALUES (?, ?, 1)"
            " ON CONFLICT (department, service_date) DO UPDATE SET last = last + 1"
            " RETURNING last",
            (request.department, service_date.isoformat()),
        ).fetchone()
        visit = Visit(
            checkin_id=checkin_id,
            identity=request.identity,
            department=request.department,
            ticket=ticket,
            service_date=service_date,
            arrived_at=now,
            visit_kind=request.visit_kind,
            priority=request.priority,
            insurance_status=insurance_status,
            insurance_code=insurance_code,
            coverage=coverage,
        )
        payload = json.dumps(visit.to_dict(), ensure_ascii=False).encode()
        self._db.table("checkins").insert(
            {
                "id": checkin_id,
                "service_date": service_date.isoformat(),
                "department": request.department,
                "ticket": ticket,
                "arrived_at": now.isoformat(),
                "visit_kind": request.visit_kind.value,
                "insurance_status": insurance_status.value,
                "insurance_code": insurance_code,
                "subject": subject,
                "personal": self._crypto.seal(payload, b"checkins/" + checkin_id.encode()),
            }
        )
        self._db.table("outbox").insert(
            {
                "key": visit.message_id,
                "checkin_id": checkin_id,
                "payload": self._crypto.seal(payload, b"outbox/" + checkin_id.encode()),
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": (now + hold_for).timestamp(),
                "last_error": None,
                "delivered_at": None,
            }
        )
        if coverage is not None and insurance_status is InsuranceStatus.VERIFIED:
            self._db.table(Queue.XML0).insert(
                {
                    "key": checkin_id,
                    "checkin_id": checkin_id,
                    "payload": self._crypto.seal(payload, _context(Queue.XML0, checkin_id)),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now.timestamp(),
                    "last_error": None,
                    "delivered_at": None,
                    "receipt": None,
                    "received_at": None,
                }
            )
        return visit

    def claim_due(
        self, now: datetime, lease: timedelta, limit: int = 50, queue: Queue = Queue.HIS
    ) -> list[OutboxMessage]:
        """Pending messages of ``queue`` due by ``now``, leased to the caller for ``lease``."""
        with self._transaction("outbox not claimed"):
            rows = self._db.execute(
                f"SELECT key, checkin_id, payload, attempts FROM {queue}"
                " WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                (OutboxStatus.PENDING, now.timestamp(), limit),
            ).fetchall()
            self._db.conn.executemany(
                f"UPDATE {queue} SET next_attempt_at = ? WHERE key = ?",
                [((now + lease).timestamp(), row[0]) for row in rows],
            )
        return [
            OutboxMessage(key, self._open_visit(payload, _context(queue, cid)), attempts)
            for key, cid, payload, attempts in rows
        ]

    def release(
        self, keys: Iterable[str], now: datetime | None = None, queue: Queue = Queue.HIS
    ) -> None:
        """Hand claimed but unsent messages back, due at ``now`` instead of at the end of
        their lease (a worker that stops mid-pass)."""
        due = (now or utc_now()).timestamp()
        with self._transaction("outbox not released"):
            self._db.conn.executemany(
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
            self._db.execute(
                f"UPDATE {queue} SET status = ?, attempts = attempts + 1, delivered_at = ?,"
                " last_error = NULL WHERE key = ?",
                (OutboxStatus.DELIVERED, now.isoformat(), key),
            )
            detail = f"message={key}"
            if receipt is not None:
                self._db.execute(
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
            self._db.execute(
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
            row = self._db.execute(
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
        row = self._db.execute(
            f"SELECT c.subject FROM {queue} o JOIN checkins c ON c.id = o.checkin_id"
            " WHERE o.key = ?",
            (key,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no outbox message {key}")
        return str(row[0])

    def retry_rejected(self, now: datetime | None = None) -> int:
        """Put rejected messages back in the queue (after the HIS or the data was fixed)."""
        now = now or utc_now()
        with self._transaction("rejected messages not re-queued"):
            count = self._db.execute(
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
            rows = self._db.execute(f"SELECT status, count(*) FROM {queue} GROUP BY status")
            counts = {status.value: 0 for status in OutboxStatus}
            counts.update({status: n for status, n in rows})
        return counts

    def registration_status(self, checkin_id: str) -> str:
        with self._reading():
            row = self._db.execute(
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
            rows = self._db.execute(
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
            row = self._db.execute(
                "SELECT personal FROM checkins WHERE id = ?", (checkin_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no check-in {checkin_id}")
        return self._open_visit(row[0], b"checkins/" + checkin_id.encode())

    def identity_pseudonym(self, identity: PatientIdentity) -> str:
        return self._crypto.pseudonym(identity.id_number)

    def audit_entries(self) -> Iterator[AuditEntry]:
        with self._reading():
            rows = self._db.execute(
                "SELECT seq, at, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
            ).fetchall()
        return (AuditEntry(*row) for row in rows)

    def verify_audit(self) -> int:
        """Check the audit chain and that it ends at the checkpoint (no newest entries
        deleted); return its length or raise :class:`AuditChainError`."""
        with self._reading():
            conn = self._db.conn
            conn.execute("BEGIN")  # one snapshot of the entries and the checkpoint
            try:
                entries = list(self.audit_entries())
                stored = self._read_checkpoint()
            finally:
                conn.commit()
        head = verify_chain(self._crypto.chain_mac, entries)
        checkpoint, mac = (None, "") if stored is None else stored
        verify_against_checkpoint(self._crypto.checkpoint_mac, head, checkpoint, mac)
        return head.count

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete check-ins older than ``retention_days`` whose registration is settled
        (delivered or rejected); undelivered ones are kept. Returns the number deleted.

        A negative retention (a cut-off after today, which would also drop today's ticket
        counters) is refused with :class:`InvalidInputError`.
        """
        if retention_days < 0:
            raise InvalidInputError("retention_days", f"must be 0 or more, not {retention_days}")
        now = now or utc_now()
        cutoff = (now.astimezone(VIETNAM_TIME).date() - timedelta(days=retention_days)).isoformat()
        with self._transaction("nothing purged"):
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT c.id FROM checkins c JOIN outbox o ON o.checkin_id = c.id"
                    " WHERE c.service_date < ? AND o.status != ?"
                    f" AND NOT EXISTS (SELECT 1 FROM {Queue.XML0} x"
                    "  WHERE x.checkin_id = c.id AND x.status = ?)",
                    (cutoff, OutboxStatus.PENDING, OutboxStatus.PENDING),
                )
            ]
            for queue in Queue:
                self._db.conn.executemany(
                    f"DELETE FROM {queue} WHERE checkin_id = ?", [(i,) for i in ids]
                )
            self._db.conn.executemany("DELETE FROM checkins WHERE id = ?", [(i,) for i in ids])
            self._db.execute("DELETE FROM tickets WHERE service_date < ?", (cutoff,))
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
            rows = self._db.execute(
                f"SELECT at FROM audit WHERE action IN ({marks}) AND seq >"
                " coalesce((SELECT max(seq) FROM audit WHERE action = ?), 0) ORDER BY seq",
                (*actions, reset_by),
            ).fetchall()
        return [datetime.fromisoformat(row[0]) for row in rows]
