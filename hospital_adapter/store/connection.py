"""What :class:`~hospital_adapter.store.Store` needs of a database: SQLite or PostgreSQL.

The store writes its SQL once, with ``?`` placeholders and clauses both databases accept
(``INSERT … ON CONFLICT … RETURNING``); a connection translates what differs: the
placeholders, how a transaction takes its locks, the row locks PostgreSQL needs where
SQLite's single writer already serialises (``FOR UPDATE``, ``SKIP LOCKED``, an advisory
lock per patient), and the schema (sqlite-utils for the file, numbered SQL migrations for
the server).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Dialect(enum.Enum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Rows(Protocol):
    """A cursor after ``execute``: what the store reads of it."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """One database session; the store serialises its use behind its own lock."""

    dialect: Dialect
    location: str
    """Where it is, without secrets (a file path, or host, port and database)."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    def transaction(self, failure: str) -> AbstractContextManager[None]:
        """A write transaction: committed at the end, rolled back on any exception; a
        database error (at any statement or the commit) becomes
        :class:`~hospital_adapter.errors.StoreError` ("``failure``: …")."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads that see one consistent state; a database error becomes ``StoreError``."""
        ...

    def lock_subject(self, subject: str) -> None:
        """Serialise, until the transaction ends, every transaction about ``subject`` (a
        pseudonym): two kiosks tapped by the same patient at once see each other."""
        ...

    def close(self) -> None: ...


class Locking(enum.StrEnum):
    """Row-lock clauses appended to a ``SELECT`` (empty on SQLite, whose write
    transaction already holds the only write lock)."""

    UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"


def locking(dialect: Dialect, clause: Locking) -> str:
    return clause.value if dialect is Dialect.POSTGRESQL else ""


def is_postgres(location: str) -> bool:
    return location.startswith(POSTGRES_SCHEMES)
