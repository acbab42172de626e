"""The store in one SQLite file, WAL mode, through sqlite-utils: the embedded default.

``BEGIN IMMEDIATE`` takes the write lock up front, so processes sharing the file queue on
the busy timeout instead of failing on upgrade, and each transaction sees no other writer.
The file and its ``-wal`` and ``-shm`` are the owner's only (mode 0600; SQLite gives the
journal files the database's mode) and deleted content is overwritten (``secure_delete``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlite_utils import Database

from hospital_adapter.errors import StoreError
from hospital_adapter.store.connection import Dialect, Rows

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
PRIVATE = 0o600
"""Mode of the store's files: the owner reads and writes, nobody else."""

_OUTBOX = {
    "key": str,
    "checkin_id": str,
    "payload": bytes,
    "status": str,
    "attempts": int,
    "next_attempt_at": float,
    "last_error": str,
    "delivered_at": str,
}
_SCHEMA: dict[str, tuple[dict[str, type], str | tuple[str, ...]]] = {
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
    "outbox": (_OUTBOX, "key"),
    "xml0_outbox": ({**_OUTBOX, "receipt": str, "received_at": str}, "key"),
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
_NULLABLE = frozenset({"delivered_at", "last_error", "receipt", "received_at"})
_ADDED_COLUMNS = (
    # The queue (hospital_adapter/store/queue.py) and where a check-in was made.
    ("checkins", "prioritized", "INTEGER NOT NULL DEFAULT 0"),
    ("checkins", "queue_status", "TEXT NOT NULL DEFAULT 'waiting'"),
    ("checkins", "room", "TEXT NOT NULL DEFAULT ''"),
    ("checkins", "called_at", "TEXT"),
    ("checkins", "served_at", "TEXT"),
    ("checkins", "kiosk", "TEXT NOT NULL DEFAULT ''"),
    ("checkins", "synced", "INTEGER NOT NULL DEFAULT 0"),
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS xml0_outbox_due ON xml0_outbox(status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS checkins_day ON checkins(service_date, department)",
    "CREATE INDEX IF NOT EXISTS checkins_subject ON checkins(subject, service_date, department)",
    "CREATE UNIQUE INDEX IF NOT EXISTS checkins_number"
    " ON checkins(service_date, department, ticket)",
    "CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq)",
    "CREATE TABLE IF NOT EXISTS leases (department TEXT NOT NULL, service_date TEXT NOT NULL,"
    " first INTEGER NOT NULL, next INTEGER NOT NULL, last INTEGER NOT NULL,"
    " PRIMARY KEY (department, service_date, first))",
    "CREATE TABLE IF NOT EXISTS leased_blocks (kiosk TEXT NOT NULL, department TEXT NOT NULL,"
    " service_date TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " leased_at TEXT NOT NULL, PRIMARY KEY (department, service_date, first))",
)


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


class SqliteConnection:
    """A :class:`~hospital_adapter.store.connection.Connection` to one SQLite file."""

    dialect = Dialect.SQLITE

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the file and its tables; :class:`StoreError` if it cannot."""
        self.location = str(path)
        try:
            _make_private(Path(path))
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from None
        self._conn = conn
        self._db = Database(conn)
        try:
            self._db.enable_wal()
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=ON")
            with self.transaction(f"cannot open the store {path}"):
                self._create_schema()
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open the store {path}: {exc}") from None

    def _create_schema(self) -> None:
        for name, (columns, pk) in _SCHEMA.items():
            self._db.table(name).create(
                columns, pk=pk, not_null=set(columns) - _NULLABLE, if_not_exists=True
            )
        existing = self._db.table("checkins").columns_dict
        if "priority" in existing:
            # Stores before the priority class was sealed: it is in `personal` too.
            self._conn.execute("ALTER TABLE checkins DROP COLUMN priority")
        for table, column, definition in _ADDED_COLUMNS:
            if column not in existing:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        for statement in _INDEXES:
            self._conn.execute(statement)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._conn.executemany(sql, rows)

    def table_exists(self, name: str) -> bool:
        return self._db.table(name).exists()

    @contextmanager
    def transaction(self, failure: str) -> Iterator[None]:
        conn = self._conn
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
    def snapshot(self) -> Iterator[None]:
        try:
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.commit()
        except sqlite3.Error as exc:
            raise StoreError(f"store not readable: {exc}") from None

    def lock_subject(self, subject: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already excludes every other writer."""

    def close(self) -> None:
        self._conn.close()
