"""The store on PostgreSQL (psycopg 3): the hospital's one database for many kiosks.

Every wait is bounded: connecting (``connect_timeout``), each transaction (a watchdog
shuts the socket down when it overruns, which also ends a wait on a link that swallows
packets), and on the server a statement, a lock wait and an idle transaction (a kiosk
that vanished mid-transaction does not hold its locks for long). A lost or timed-out
connection is :class:`StoreUnavailableError` and is opened again at the next use.

The schema is numbered SQL files in ``migrations/`` applied in order, each once, under an
advisory lock (thirty kiosks starting at once apply them once) and recorded in
``schema_migrations``: plain SQL a hospital's DBA can read and run by hand, and no
dependency beyond psycopg (docs/hospital_adapter.md, "Many kiosks").
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from importlib import resources

import psycopg
from psycopg.conninfo import conninfo_to_dict

from hospital_adapter.errors import StoreError, StoreUnavailableError
from hospital_adapter.store.connection import Dialect, Rows
from hospital_adapter.store.watchdog import Watchdog

log = logging.getLogger(__name__)

WATCHDOG = Watchdog("store-watchdog")
"""One thread guards every PostgreSQL transaction of the process (:meth:`_watchdog`)."""

MIGRATIONS_LOCK = 0x43434344  # "CCCD": the advisory lock key migrations run under
_LOST = (psycopg.OperationalError, psycopg.InterfaceError)


def _placeholders(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def migrations() -> list[tuple[int, str, str]]:
    """The schema's migrations in order: (version, file name, SQL)."""
    folder = resources.files("hospital_adapter.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text("utf-8")))
    return sorted(found)


class PostgresConnection:
    """A :class:`~hospital_adapter.store.connection.Connection` to a PostgreSQL database."""

    dialect = Dialect.POSTGRESQL

    def __init__(self, url: str, timeout_s: float) -> None:
        """Connect and bring the schema up to date; :class:`StoreUnavailableError` if the
        server cannot be reached, :class:`StoreError` for a bad URL."""
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise StoreError("the store URL is not a valid postgresql:// URL") from None
        self.location = (
            f"postgresql://{params.get('host', 'localhost')}:{params.get('port', 5432)}"
            f"/{params.get('dbname', '')}"
        )
        self._url = url
        self._timeout_s = timeout_s
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._expired = False
        with self.transaction(f"cannot open the store {self.location}"):
            self._migrate()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self._drop()
        server_ms = int(self._timeout_s * 900)  # the server gives up just before the watchdog
        try:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._timeout_s)),
                application_name="cccd-hospital",
                options=(
                    f"-c statement_timeout={server_ms} -c lock_timeout={server_ms}"
                    f" -c idle_in_transaction_session_timeout={4 * server_ms}"
                ),
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=2,
                tcp_user_timeout=server_ms,
            )
        except _LOST as exc:
            raise StoreUnavailableError(
                f"the hospital store {self.location} cannot be reached: {_first_line(exc)}"
            ) from None
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error, OSError):
                self._conn.close()
        self._conn = None

    def _migrate(self) -> None:
        conn = self._connect()
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        applied = int(str(row[0])) if row else 0
        for version, name, sql in migrations():
            if version > applied:
                log.info("store: applying migration %s", name)
                conn.execute(sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )

    @contextmanager
    def _watchdog(self, conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
        """Shut the connection's socket down if the block overruns the timeout: a read
        blocked on a silent link then fails at once instead of never."""
        self._expired = False
        fd = conn.pgconn.socket

        def expire() -> None:
            self._expired = True
            with suppress(OSError):
                sock = socket.socket(fileno=fd)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.detach()  # the socket stays psycopg's to close

        alarm = WATCHDOG.arm(self._timeout_s, expire)
        try:
            yield
        finally:
            WATCHDOG.disarm(alarm)

    @contextmanager
    def _session(self, begin: str, failure: str) -> Iterator[None]:
        conn = self._connect()
        try:
            with self._watchdog(conn):
                conn.execute(begin)
                try:
                    yield
                except BaseException:
                    if not conn.broken:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except _LOST as exc:
            self._drop()
            reason = "no answer in time" if self._expired else _first_line(exc)
            raise StoreUnavailableError(f"{failure}: {self.location}: {reason}") from None
        except psycopg.Error as exc:
            if not conn.broken:
                with suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
            raise StoreError(f"{failure}: {_first_line(exc)}") from None

    def transaction(self, failure: str) -> AbstractContextManager[None]:
        return self._session("BEGIN", failure)

    def snapshot(self) -> AbstractContextManager[None]:
        return self._session(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "store not readable"
        )

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        assert self._conn is not None, "execute outside a transaction"
        return self._conn.execute(_placeholders(sql).encode(), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        assert self._conn is not None, "executemany outside a transaction"
        with self._conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql).encode(), [tuple(row) for row in rows])

    def lock_subject(self, subject: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (subject,))

    def close(self) -> None:
        self._drop()


def _first_line(exc: BaseException) -> str:
    """The error's first line: psycopg's messages go on with details and hints."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
