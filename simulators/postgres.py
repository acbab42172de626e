"""A private PostgreSQL cluster that tests and demos start and stop themselves.

:class:`PostgresCluster` runs ``initdb`` once into a work directory, then starts the
``postgres`` postmaster as a direct child (its PID is the server's own), listening on
127.0.0.1 and on a Unix socket in the work directory, with a log file beside it. It is
stopped by that PID: SIGINT (fast shutdown), SIGKILL after a timeout; a crash
(:meth:`PostgresCluster.kill`) also kills the postmaster's children, so a restart on
the same data directory runs crash recovery instead of finding its shared memory busy.

Both the superuser ``postgres`` and the application role ``cccd`` (owner of the
database ``cccd``) get random passwords and every connection needs them (SCRAM-SHA-256,
local and host). The passwords are kept in ``credentials.json`` (0600, readable by the
invoking user only) so a later cluster on the same work directory can connect again.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system
user (created by Debian's ``postgresql`` package), which owns the data and socket
directories and must be able to traverse the work directory. Checked against
PostgreSQL 15 (Debian 12).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import psycopg
from psycopg import sql

from simulators.procfs import ProcStat, children_of, proc_stat

__all__ = [
    "ADMIN_USER",
    "APP_DATABASE",
    "APP_USER",
    "BINDIR_ENV",
    "PostgresCluster",
    "PostgresError",
    "PostgresUnavailableError",
    "ServerBinaries",
    "find_binaries",
]

BINDIR_ENV: Final = "CCCD_PG_BINDIR"
ADMIN_USER: Final = "postgres"
APP_USER: Final = "cccd"
APP_DATABASE: Final = "cccd"
HOST: Final = "127.0.0.1"
SYSTEM_USER: Final = "postgres"
"""The system account Debian's package creates; the server runs as it when we are root."""

_DEBIAN_GLOB: Final = "/usr/lib/postgresql/*/bin"
_START_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.05
_LOG_TAIL_LINES: Final = 40
_PORT_RETRIES: Final = 3
_SOCKET_PATH_MAX: Final = 107
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SERVER_SETTINGS: Final = (
    f"listen_addresses={HOST}",
    "fsync=on",
    "max_connections=200",
    "shared_buffers=64MB",
)
_UNAVAILABLE: Final = (
    f"PostgreSQL server not installed: apt-get install postgresql (or set {BINDIR_ENV})"
)


class PostgresError(RuntimeError):
    """The private PostgreSQL cluster could not be set up, started or stopped."""


class PostgresUnavailableError(PostgresError):
    """No PostgreSQL server binaries (``initdb`` and ``postgres``) were found."""


@dataclass(frozen=True)
class ServerBinaries:
    """Where ``initdb`` and ``postgres`` live."""

    bindir: Path

    @property
    def initdb(self) -> Path:
        return self.bindir / "initdb"

    @property
    def postgres(self) -> Path:
        return self.bindir / "postgres"

    def complete(self) -> bool:
        return all(os.access(p, os.X_OK) for p in (self.initdb, self.postgres))


@dataclass(frozen=True)
class _Credentials:
    admin_password: str
    app_password: str

    @classmethod
    def generate(cls) -> _Credentials:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24))


@dataclass(frozen=True)
class _RunAs:
    """The account the server processes run as (``None`` ids: the current user)."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def for_current_user(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise PostgresError(
                f"PostgreSQL refuses to run as root and there is no {SYSTEM_USER!r} system "
                "user to run it as: apt-get install postgresql creates it"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def popen(self, argv: list[str], *, cwd: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for us does not reach the server
            user=self.uid,
            group=self.gid,
            extra_groups=None if self.uid is None else [],
        )


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name)) or (0,)


def find_binaries() -> ServerBinaries:
    """``$CCCD_PG_BINDIR``, else the newest ``/usr/lib/postgresql/*/bin`` with both
    ``initdb`` and ``postgres``; raises :class:`PostgresUnavailableError` when there is none."""
    override = os.environ.get(BINDIR_ENV)
    if override:
        binaries = ServerBinaries(Path(override))
        if not binaries.complete():
            raise PostgresUnavailableError(f"{_UNAVAILABLE}; {override} has no initdb and postgres")
        return binaries
    candidates = [ServerBinaries(Path(p)) for p in Path("/").glob(_DEBIAN_GLOB.lstrip("/"))]
    usable = [c for c in candidates if c.complete()]
    if not usable:
        raise PostgresUnavailableError(_UNAVAILABLE)
    return max(usable, key=lambda c: _version_key(c.bindir))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _still_running(process: ProcStat) -> bool:
    """Whether this very process (not a later one reusing its PID) still runs; a zombie
    waiting for a parent that does not reap it counts as gone."""
    now = proc_stat(process.pid)
    return now is not None and now.start_time == process.start_time and now.alive


def _wait_gone(procs: list[ProcStat], deadline: float) -> list[ProcStat]:
    left = [p for p in procs if _still_running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(_POLL_S / 5)
        left = [p for p in left if _still_running(p)]
    return left


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _check_traversable(path: Path, run_as: _RunAs) -> None:
    """Raise unless the server's account can reach ``path`` (every ancestor searchable)."""
    if run_as.uid is None:
        return
    for directory in (path, *path.parents):
        mode = directory.stat()
        if mode.st_uid == run_as.uid:
            needed = stat.S_IXUSR
        elif mode.st_gid == run_as.gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not mode.st_mode & needed:
            raise PostgresError(
                f"the {SYSTEM_USER!r} user cannot traverse {directory} (mode "
                f"{stat.filemode(mode.st_mode)}); choose a work directory it can reach"
            )


class PostgresCluster:
    """A PostgreSQL server of our own, as a context manager.

    >>> with PostgresCluster() as cluster:             # doctest: +SKIP
    ...     psycopg.connect(cluster.url)

    ``workdir`` holds ``data/``, the socket directory ``run/``, ``postgres.log`` and
    ``credentials.json``; by default a new temporary directory, removed on exit.
    ``port``: by default a free TCP port on 127.0.0.1, kept across restarts.
    """

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        self.binaries = find_binaries()
        self._run_as = _RunAs.for_current_user()
        self._own_workdir = workdir is None
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="cccd-pg-"))
            workdir.chmod(0o711)  # the server's account must reach data/ and run/
        else:
            workdir = workdir.resolve()
            if not workdir.exists():
                workdir.mkdir(parents=True)
                workdir.chmod(0o711)
        self.workdir = workdir
        self._port_fixed = port is not None
        self.port = port if port is not None else _free_port()
        self._credentials: _Credentials | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- paths and addresses --

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.workdir / "run"

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"

    @property
    def _credentials_path(self) -> Path:
        return self.workdir / "credentials.json"

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, ``None`` when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def url(self) -> str:
        """``postgresql://cccd:PASSWORD@127.0.0.1:PORT/cccd``."""
        return self._url(APP_USER, self._require_credentials().app_password, APP_DATABASE)

    @property
    def admin_url(self) -> str:
        """The superuser's URL (database ``postgres``)."""
        return self._url(ADMIN_USER, self._require_credentials().admin_password, "postgres")

    def url_for(self, database: str) -> str:
        """The ``cccd`` role's URL for another database."""
        return self._url(APP_USER, self._require_credentials().app_password, database)

    def _url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@{HOST}:{self.port}/{database}"

    def _require_credentials(self) -> _Credentials:
        if self._credentials is None:
            raise PostgresError("the cluster has not been started yet: call start()")
        return self._credentials

    # -- databases --

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by ``cccd``; return its URL."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(_checked_name(name)), sql.Identifier(APP_USER)
                )
            )
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its sessions (``WITH (FORCE)``)."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(_checked_name(name))
                )
            )

    @contextlib.contextmanager
    def _admin(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            yield conn

    # -- lifecycle --

    def start(self) -> PostgresCluster:
        """initdb (the first time), start the server, wait until it accepts
        connections (30 s at most) and make sure role and database ``cccd`` exist."""
        if self.running:
            raise PostgresError(f"PostgreSQL already running (pid {self.pid})")
        if len(os.fsencode(self.socket_dir / f".s.PGSQL.{self.port}.lock")) > _SOCKET_PATH_MAX:
            raise PostgresError(f"work directory path too long for a Unix socket: {self.workdir}")
        _check_traversable(self.workdir, self._run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        else:
            self._credentials = self._credentials or self._load_credentials()
        self.socket_dir.mkdir(mode=0o755, exist_ok=True)
        self._run_as.chown(self.socket_dir)
        for attempt in range(_PORT_RETRIES):
            try:
                self._spawn_and_wait()
                break
            except _PortTakenError:
                if self._port_fixed or attempt == _PORT_RETRIES - 1:
                    raise PostgresError(
                        f"port {self.port} is taken:\n{_tail(self.log_path)}"
                    ) from None
                self.port = _free_port()
        self._port_fixed = True  # URLs handed out stay valid across restarts
        self._ensure_app_role()
        return self

    def stop(self, timeout_s: float = 30) -> None:
        """Fast shutdown by PID (SIGINT), SIGKILL after ``timeout_s``. Idempotent."""
        process = self._process
        if process is None:
            return
        children = children_of(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._reap(children, time.monotonic() + timeout_s)

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster and every child it had, and wait
        until all are gone (a later :meth:`start` runs crash recovery)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGSTOP)  # no new children while we list them
        children = children_of(process.pid)
        process.kill()
        process.wait()
        self._reap(children, time.monotonic() + _START_TIMEOUT_S)

    def restart(self) -> PostgresCluster:
        """Stop and start again on the same data directory, port and passwords."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the work directory if this object created it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresCluster(workdir={self.workdir}, port={self.port}, pid={self.pid})"

    # -- internals --

    def _reap(self, children: list[ProcStat], deadline: float) -> None:
        for child in _wait_gone(children, deadline):
            if _still_running(child):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        left = _wait_gone(children, time.monotonic() + 5)
        self._process = None
        if left:
            raise PostgresError(f"server processes survived SIGKILL: {[p.pid for p in left]}")

    def _initdb(self) -> None:
        credentials = _Credentials.generate()
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self._run_as.chown(self.data_dir)
        pwfile = self.workdir / "pwfile"
        with contextlib.suppress(FileNotFoundError):
            pwfile.unlink()
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(credentials.admin_password + "\n")
            self._run_as.chown(pwfile)
            argv = [
                str(self.binaries.initdb), "-D", str(self.data_dir), "-E", "UTF8",
                "--locale=C", "-U", ADMIN_USER, f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            ]  # fmt: skip
            log_path = self.workdir / "initdb.log"
            with log_path.open("wb") as log:
                code = self._run_as.popen(argv, cwd=self.workdir, log=log).wait()
        finally:
            pwfile.unlink()
        if code != 0:
            raise PostgresError(f"initdb failed with exit code {code}:\n{_tail(log_path)}")
        fd = os.open(self._credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"admin": credentials.admin_password, "app": credentials.app_password}, out)
        self._credentials = credentials

    def _load_credentials(self) -> _Credentials:
        try:
            saved = json.loads(self._credentials_path.read_text())
            return _Credentials(str(saved["admin"]), str(saved["app"]))
        except (OSError, ValueError, KeyError) as exc:
            raise PostgresError(
                f"{self.data_dir} exists but its passwords ({self._credentials_path}) are "
                f"unreadable: {exc}"
            ) from exc

    def _spawn_and_wait(self) -> None:
        argv = [str(self.binaries.postgres), "-D", str(self.data_dir), "-p", str(self.port)]
        argv += ["-k", str(self.socket_dir)]
        for setting in _SERVER_SETTINGS:
            argv += ["-c", setting]
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = self._run_as.popen(argv, cwd=self.data_dir, log=log)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                self._process = None
                with self.log_path.open("rb") as log:
                    log.seek(log_start)
                    output = log.read().decode(errors="replace")
                if "could not bind" in output or "could not create any TCP/IP" in output:
                    raise _PortTakenError
                raise PostgresError(f"postgres exited during start:\n{_tail(self.log_path)}")
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise PostgresError(
                        f"postgres did not accept connections within {_START_TIMEOUT_S:.0f} s:"
                        f"\n{_tail(self.log_path)}"
                    ) from None
                time.sleep(_POLL_S)

    def _ensure_app_role(self) -> None:
        password = self._require_credentials().app_password
        with self._admin() as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_USER]).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(APP_USER), sql.Literal(password)
                    )
                )
            if conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [APP_DATABASE]
            ).fetchone():
                return
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(APP_DATABASE), sql.Identifier(APP_USER)
                )
            )


class _PortTakenError(Exception):
    """The server could not bind its TCP port."""


def _checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a plain database name (lower case, digits, _): {name!r}")
    return name
