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
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from hospital_adapter.errors import StoreError
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
            "priority": str,
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


_CHECKPOINT = "audit_checkpoint"


class Store:
    """Check-ins, ticket numbers, the outbox and the audit log in one SQLite file.

    Thread-safe (one connection behind a lock); open one per process.
    """

    def __init__(self, path: str | Path, master_key: bytes) -> None:
        self._crypto = StoreCrypto(master_key)
        self._lock = threading.RLock()
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            self._db = Database(conn)
            self._db.enable_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():
                for name, (columns, pk) in _SCHEMA.items():
                    self._db.table(name).create(
                        columns,
                        pk=pk,
                        not_null=set(columns) - {"delivered_at", "last_error"},
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
                self._create_checkpoint()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front so that
        concurrent processes queue on the busy timeout instead of failing on upgrade."""
        with self._lock:
            conn = self._db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store busy or unavailable: {exc}") from None
            try:
                yield
            except BaseException:
                conn.rollback()
                raise
            try:
                conn.commit()
            except sqlite3.Error as exc:
                conn.rollback()
                raise StoreError(f"commit failed: {exc}") from None

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
        try:
            with self._transaction():
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
                    detail += f" insurance={insurance_status.value}"
                self._audit(now, action, subject, detail)
        except sqlite3.Error as exc:
            raise StoreError(f"check-in not recorded: {exc}") from None
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
                "priority": request.priority.value,
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
        return visit

    def claim_due(self, now: datetime, lease: timedelta, limit: int = 50) -> list[OutboxMessage]:
        """Pending messages due by ``now``, leased to the caller for ``lease``."""
        with self._transaction():
            rows = self._db.execute(
                "SELECT key, checkin_id, payload, attempts FROM outbox"
                " WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                (OutboxStatus.PENDING, now.timestamp(), limit),
            ).fetchall()
            self._db.conn.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE key = ?",
                [((now + lease).timestamp(), row[0]) for row in rows],
            )
        return [
            OutboxMessage(key, self._open_visit(payload, b"outbox/" + cid.encode()), attempts)
            for key, cid, payload, attempts in rows
        ]

    def release(self, keys: Iterable[str], now: datetime | None = None) -> None:
        """Hand claimed but unsent messages back, due at ``now`` instead of at the end of
        their lease (a worker that stops mid-pass)."""
        due = (now or utc_now()).timestamp()
        with self._transaction():
            self._db.conn.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE key = ? AND status = ?",
                [(due, key, OutboxStatus.PENDING) for key in keys],
            )

    def _open_visit(self, blob: bytes, context: bytes) -> Visit:
        try:
            return Visit.from_dict(json.loads(self._crypto.open(blob, context)))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"stored visit cannot be read: {exc}") from None

    def mark_delivered(self, key: str, now: datetime | None = None) -> None:
        now = now or utc_now()
        with self._transaction():
            subject = self._subject_of(key)
            self._db.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, delivered_at = ?,"
                " last_error = NULL WHERE key = ?",
                (OutboxStatus.DELIVERED, now.isoformat(), key),
            )
            self._audit(now, "delivered", subject, f"message={key}")

    def mark_failed(
        self, key: str, error: str, retry_at: datetime | None, now: datetime | None = None
    ) -> None:
        """Record a failed attempt: retry at ``retry_at``, or reject for good if ``None``.

        ``error`` must hold no personal data (the package's error messages never do).
        """
        now = now or utc_now()
        status = OutboxStatus.PENDING if retry_at is not None else OutboxStatus.REJECTED
        with self._transaction():
            subject = self._subject_of(key)
            self._db.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = ? WHERE key = ?",
                (status, error[:500], (retry_at or now).timestamp(), key),
            )
            if status == OutboxStatus.REJECTED:
                self._audit(now, "rejected", subject, f"message={key} error={error[:200]}")

    def _subject_of(self, key: str) -> str:
        row = self._db.execute(
            "SELECT c.subject FROM outbox o JOIN checkins c ON c.id = o.checkin_id WHERE o.key = ?",
            (key,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no outbox message {key}")
        return str(row[0])

    def retry_rejected(self, now: datetime | None = None) -> int:
        """Put rejected messages back in the queue (after the HIS or the data was fixed)."""
        now = now or utc_now()
        with self._transaction():
            count = self._db.execute(
                "UPDATE outbox SET status = ?, next_attempt_at = ? WHERE status = ?",
                (OutboxStatus.PENDING, now.timestamp(), OutboxStatus.REJECTED),
            ).rowcount
            if count:
                self._audit(now, "retry", "", f"messages={count}")
        return count

    def outbox_counts(self) -> dict[str, int]:
        """Number of messages per status (``pending``, ``delivered``, ``rejected``)."""
        with self._lock:
            rows = self._db.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            counts = {status.value: 0 for status in OutboxStatus}
            counts.update({status: n for status, n in rows})
        return counts

    def registration_status(self, checkin_id: str) -> str:
        with self._lock:
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
        with self._lock:
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
        with self._lock:
            row = self._db.execute(
                "SELECT personal FROM checkins WHERE id = ?", (checkin_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no check-in {checkin_id}")
        return self._open_visit(row[0], b"checkins/" + checkin_id.encode())

    def identity_pseudonym(self, identity: PatientIdentity) -> str:
        return self._crypto.pseudonym(identity.id_number)

    def audit_entries(self) -> Iterator[AuditEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
            ).fetchall()
        return (AuditEntry(*row) for row in rows)

    def verify_audit(self) -> int:
        """Check the audit chain and that it ends at the checkpoint (no newest entries
        deleted); return its length or raise :class:`AuditChainError`."""
        with self._lock:
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
        (delivered or rejected); undelivered ones are kept. Returns the number deleted."""
        now = now or utc_now()
        cutoff = (now.astimezone(VIETNAM_TIME).date() - timedelta(days=retention_days)).isoformat()
        with self._transaction():
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT c.id FROM checkins c JOIN outbox o ON o.checkin_id = c.id"
                    " WHERE c.service_date < ? AND o.status != ?",
                    (cutoff, OutboxStatus.PENDING),
                )
            ]
            self._db.conn.executemany(
                "DELETE FROM outbox WHERE checkin_id = ?", [(i,) for i in ids]
            )
            self._db.conn.executemany("DELETE FROM checkins WHERE id = ?", [(i,) for i in ids])
            self._db.execute("DELETE FROM tickets WHERE service_date < ?", (cutoff,))
            self._audit(now, "purge", "", f"before={cutoff} checkins={len(ids)}")
        return len(ids)
