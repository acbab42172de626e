"""The private PostgreSQL cluster (simulators/postgres.py): durability across a restart
and a crash, the account the server runs as, clean stops, passwords, the CLI."""

from __future__ import annotations

import contextlib
import os
import pwd
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from simulators.postgres import PostgresCluster, PostgresUnavailableError
from simulators.procfs import alive, descendants

REPO = Path(__file__).resolve().parents[2]


def _all_gone(pids: set[int], timeout_s: float = 5) -> set[int]:
    deadline = time.monotonic() + timeout_s
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {p for p in left if alive(p)}
    return left


def _port_listened(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return True
        return False


def _rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, note FROM visits ORDER BY id").fetchall()


def _uids(pid: int) -> set[int]:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return {int(uid) for uid in line.split()[1:]}


def test_committed_rows_survive_restart_and_crash() -> None:
    with PostgresCluster() as cluster:
        with psycopg.connect(cluster.url) as conn:
            conn.execute("CREATE TABLE visits (id int PRIMARY KEY, note text NOT NULL)")
            conn.execute("INSERT INTO visits VALUES (1, 'trước khởi động lại')")
        port, old_pid = cluster.port, cluster.pid

        cluster.restart()
        assert cluster.port == port and cluster.pid != old_pid
        assert _rows(cluster.url) == [(1, "trước khởi động lại")]

        with psycopg.connect(cluster.url) as conn:
            conn.execute("INSERT INTO visits VALUES (2, 'trước sự cố')")
            # An open session and an uncommitted row at the moment of the crash.
            idle = psycopg.connect(cluster.url)
            idle.execute("INSERT INTO visits VALUES (3, 'chưa commit')")
        crashed = cluster.pid
        assert crashed is not None
        children = descendants(crashed)
        assert children, "the postmaster should have background processes"
        cluster.kill()
        assert cluster.pid is None
        assert _all_gone({crashed, *children}, timeout_s=0) == set()
        with contextlib.suppress(psycopg.Error):
            idle.close()

        cluster.start()
        assert _rows(cluster.url) == [(1, "trước khởi động lại"), (2, "trước sự cố")]
        assert "automatic recovery in progress" in cluster.log_path.read_text()


def test_server_runs_as_postgres_user_when_root(postgres_cluster: PostgresCluster) -> None:
    pid = postgres_cluster.pid
    assert pid is not None
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert _uids(pid) == {expected}
    children = descendants(pid)
    assert children and all(_uids(child) == {expected} for child in children)


def test_stop_leaves_no_process_and_frees_the_port(postgres_cluster: PostgresCluster) -> None:
    with PostgresCluster() as other:
        assert other.port != postgres_cluster.port
        for url in (other.url, postgres_cluster.url):
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT current_user").fetchone() == ("cccd",)
        pid = other.pid
        assert pid is not None
        processes = {pid, *descendants(pid)}
        assert len(processes) > 1
        assert _port_listened(other.port)
        workdir = other.workdir
        other.stop()
        assert other.pid is None
        assert _all_gone(processes, timeout_s=0) == set()
        assert not _port_listened(other.port)
    assert not workdir.exists()


def test_password_is_required(postgres_cluster: PostgresCluster) -> None:
    wrong = make_conninfo(postgres_cluster.url, password="not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)
    without = make_conninfo(postgres_cluster.url, password="", passfile=os.devnull)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(without, connect_timeout=5)
    with psycopg.connect(postgres_cluster.admin_url) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)


def test_pg_url_is_a_fresh_database_owned_by_cccd(
    pg_url: str, postgres_cluster: PostgresCluster
) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == ("cccd",)
        assert conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() == (0,)
        conn.execute("CREATE TABLE t (x int)")
    postgres_cluster.drop_database(name)  # also what the fixture does afterwards
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(pg_url, connect_timeout=5)


def test_missing_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCCD_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresUnavailableError, match="apt-get install postgresql"):
        PostgresCluster()


def test_cli_prints_a_working_url_and_stops_on_sigint() -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "simulators", "postgres"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None
        ready, _, _ = select.select([cli.stdout], [], [], 30)
        assert ready, "no URL within 30 s"
        url = cli.stdout.readline().strip()
        assert url.startswith("postgresql://cccd:")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("cccd",)
        processes = descendants(cli.pid)
        assert processes, "the server should be the CLI's child"
        cli.send_signal(signal.SIGINT)
        assert cli.wait(30) == 0
        assert _all_gone(processes) == set()
        assert cli.stderr is not None
        log_line = next(line for line in cli.stderr.read().splitlines() if line.startswith("log:"))
        assert not Path(log_line.split()[1].rstrip(";")).parent.exists()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_a_picked_port_taken_before_start_is_replaced() -> None:
    cluster = PostgresCluster()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", cluster.port))  # bound, not listening: refuses at once
        taken = cluster.port
        with cluster:
            assert cluster.port != taken
            with psycopg.connect(cluster.url) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
