"""The store under hostile conditions: file modes, a wrong key, a full disk, a read-only file
(issue #13 items 7, 8, 10 and 11).

The full disk is a real one: a 4 MiB tmpfs mounted for the test (root only; skipped
otherwise), filled with a file to 24 levels of free space. A real file system returns
ENOSPC wherever SQLite happens to need a page (main file, ``-wal``, ``-shm``), which
``PRAGMA max_page_count`` cannot show: it limits the main file only, and a WAL store writes
its commits to the ``-wal``. The read-only store is a real one too: a 0444 file opened by
an unprivileged user (a forked child that drops root, or the test itself when not root).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hospital_adapter.checkin import RegistrationStatus
from hospital_adapter.cli import main
from hospital_adapter.config import StoreSettings, load_store_key
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import ConfigurationError, InvalidInputError, StoreError
from hospital_adapter.his import MessageHeader, MllpRegistrar
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, VisitKind
from simulators.bhxh_gateway import Dataset
from simulators.his import RunningHis

from .helpers import KEY, request_for

NOON = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)
NOBODY = 65534


def _mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def test_store_files_are_the_owners_only(tmp_path: Path, dataset: Dataset) -> None:
    old = os.umask(0o022)  # the usual umask: SQLite alone made these 0644
    try:
        path = tmp_path / "store.sqlite3"
        store = Store(path, KEY)
        store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
        modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
        store.close()
    finally:
        os.umask(old)
    assert modes == {
        "store.sqlite3": "-rw-------",
        "store.sqlite3-wal": "-rw-------",
        "store.sqlite3-shm": "-rw-------",
    }


def test_an_existing_open_store_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    Store(path, KEY).close()
    path.chmod(0o644)
    Store(path, KEY).close()
    assert _mode(path) == "-rw-------"


def test_key_file_open_to_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text(KEY.hex())
    key_file.chmod(0o640)
    with pytest.raises(ConfigurationError) as refused:
        load_store_key(StoreSettings(key_file=str(key_file)), env={})
    assert str(refused.value) == (
        f"store.key_file: {key_file} is open to group or others (mode -rw-r-----):"
        f" chmod 600 {key_file}"
    )
    key_file.chmod(0o600)
    assert load_store_key(StoreSettings(key_file=str(key_file)), env={}) == KEY


def test_priority_class_is_sealed_and_old_stores_migrate(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "store.sqlite3"
    store = Store(path, KEY)
    visit = store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(checkins)")]
        assert "priority" not in columns
        # A store of the previous version: the class in plain text beside the sealed copy.
        conn.execute("ALTER TABLE checkins ADD COLUMN priority TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE checkins SET priority = 'disability'")
        conn.commit()
    store = Store(path, KEY)
    assert store.visit(visit.checkin_id) == visit  # the sealed copy is the one read
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(checkins)")]
    assert "priority" not in columns
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"disability" not in raw  # dropped and overwritten (secure_delete)


def test_wrong_key_is_reported_as_a_wrong_key(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "store.sqlite3"
    store = Store(path, KEY)
    store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
    store.close()
    config = tmp_path / "hospital.toml"
    config.write_text(f'[store]\npath = "{path}"\n')
    result = CliRunner().invoke(
        main, ["--config", str(config), "audit", "verify"], env={"CCCD_HOSPITAL_KEY": "11" * 32}
    )
    assert (result.exit_code, result.output) == (
        4,
        "Store problem: wrong store key: this store was created with another"
        " CCCD_HOSPITAL_KEY / [store] key_file\n",
    )


def test_a_store_made_before_key_checks_adopts_the_right_key_only(
    tmp_path: Path, dataset: Dataset
) -> None:
    path = tmp_path / "store.sqlite3"
    store = Store(path, KEY)
    store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TABLE store_key")
        conn.commit()
    with pytest.raises(StoreError) as wrong:
        Store(path, bytes(32))
    assert str(wrong.value) == (
        "wrong store key: neither the audit log nor its checkpoint authenticates under this"
        " CCCD_HOSPITAL_KEY / [store] key_file"
    )
    store = Store(path, KEY)
    assert store.verify_audit() == 1
    store.close()


def test_purge_refuses_a_negative_retention(tmp_path: Path, dataset: Dataset) -> None:
    store = Store(tmp_path / "store.sqlite3", KEY)
    store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
    with pytest.raises(InvalidInputError) as refused:
        store.purge(-1, now=NOON)
    assert (refused.value.field, refused.value.reason) == (
        "retention_days",
        "must be 0 or more, not -1",
    )
    assert store.purge(0, now=NOON) == 0
    [summary] = store.checkins()
    assert summary.ticket == 1
    store.close()


# A read-only store ------------------------------------------------------------------------


def _unprivileged(job: Callable[[], Any]) -> Any:
    """``job()`` as a user who cannot write a 0444 file: a forked child that drops root
    (root writes any file), or this process when it is not root."""
    if os.geteuid() != 0:
        return job()
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()

    def run() -> None:
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        try:
            child.send(("ok", job()))
        except BaseException as exc:  # sent back to the test as it is
            child.send(("raised", (type(exc).__name__, str(exc))))

    process = context.Process(target=run)
    process.start()
    kind, value = parent.recv()
    process.join(30)
    assert kind == "ok", value
    return value


@pytest.fixture
def read_only(dataset: Dataset) -> Iterator[tuple[Path, Path]]:
    """A store with a pending and a rejected message, its file then 0444, in a folder
    open to all (pytest's own folders are the owner's only; SQLite makes its ``-shm``)."""
    folder = Path(tempfile.mkdtemp(prefix="cccd-read-only-"))
    folder.chmod(0o777)
    path = folder / "store.sqlite3"
    store = Store(path, KEY)
    for record in dataset.records[:2]:
        store.check_in(request_for(record), InsuranceStatus.VERIFIED, now=NOON)
    [first, _] = store.claim_due(datetime.now(UTC), lease=timedelta(0))
    store.mark_failed(first.key, "HisRejectedError AE", None)
    store.close()
    path.chmod(0o444)
    config = folder / "hospital.toml"
    config.write_text(f'[store]\npath = "{path}"\n[his]\nport = 9\n')
    config.chmod(0o644)
    yield path, config
    shutil.rmtree(folder)


def _cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], env={"CCCD_HOSPITAL_KEY": KEY.hex()}
    )
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (("purge",), "Store problem: nothing purged: attempt to write a readonly database\n"),
        (
            ("outbox", "retry"),
            "Store problem: rejected messages not re-queued:"
            " attempt to write a readonly database\n",
        ),
    ],
)
def test_read_only_store_commands_are_store_problems(
    read_only: tuple[Path, Path], command: tuple[str, ...], message: str
) -> None:
    _, config = read_only
    assert _unprivileged(lambda: _cli(config, *command)) == (4, message)


def test_read_only_store_outbox_worker_raises_store_error(read_only: tuple[Path, Path]) -> None:
    path, _ = read_only

    def deliver_due() -> tuple[str, str]:
        store = Store(path, KEY)
        registrar = MllpRegistrar("127.0.0.1", 9, MessageHeader())
        try:
            OutboxWorker(store, registrar).deliver_due()
        except StoreError as exc:
            return type(exc).__name__, str(exc)
        finally:
            store.close()
        return "", "no error"

    assert _unprivileged(deliver_due) == (
        "StoreError",
        "outbox not claimed: attempt to write a readonly database",
    )


# A full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:  # lazy: a store left open by a failing test must not keep the mount
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def _fill(folder: Path, leave: int) -> Path:
    """A file taking all the free space of ``folder``'s file system but ``leave`` bytes."""
    filler = folder / "filler"
    vfs = os.statvfs(folder)
    size = max(vfs.f_bavail * vfs.f_frsize - leave, 0)
    with filler.open("wb") as out:
        out.write(b"\0" * size)
    return filler


FREE_LEVELS = range(0, 96 * 1024, 4096)
"""24 levels of free space, 0 to 92 KiB in steps of a page."""


def test_full_disk_store_error_means_nothing_recorded(
    small_disk: Path, dataset: Dataset, his: RunningHis
) -> None:
    """At each level: either StoreError and nothing stored or sent, or a result that says
    what the store and the HIS hold (registered at the HIS even when the store could not
    mark the message delivered)."""
    outcomes: list[str] = []
    host, port = his.mllp.address
    registrar = MllpRegistrar(host, port, MessageHeader("KIOSK", "79024", "HIS", "79024"))
    for index, leave in enumerate(FREE_LEVELS):
        folder = small_disk / f"level-{index}"
        folder.mkdir()
        store = Store(folder / "store.sqlite3", KEY)
        service = CheckInService(object(), registrar, store)  # type: ignore[arg-type]
        record = dataset.records[index % len(dataset.records)]
        request = request_for(record, kind=VisitKind.SELF_PAY)
        store.check_in(request_for(dataset.records[-1], "K09"), InsuranceStatus.NOT_APPLICABLE)
        registered_before = len(his.state.registrations)
        filler = _fill(small_disk, leave)
        try:
            result = service.check_in(request, Deadline.after(5))
        except StoreError as exc:
            assert str(exc).startswith("check-in not recorded: database or disk is full"), exc
            result = None
        filler.unlink()
        registered = len(his.state.registrations) - registered_before
        kept = [s for s in store.checkins() if s.department == "K01"]
        if result is None:
            assert (kept, registered) == ([], 0)
            outcomes.append("not recorded")
        else:
            assert [s.checkin_id for s in kept] == [result.checkin_id]
            assert result.registration is RegistrationStatus.DELIVERED and registered == 1
            marked = store.registration_status(result.checkin_id)
            outcomes.append("recorded" if marked == "delivered" else "recorded, mark lost")
        store.close()
        shutil.rmtree(folder)
    assert {"not recorded", "recorded, mark lost", "recorded"} <= set(outcomes), outcomes
