"""Kiosks sharing the hospital's PostgreSQL store (hospital_adapter/store/fleet.py): numbers
leased in blocks, a journal that keeps checking patients in while the link is down, and
hands everything on once, as it was, when the link is back. Real PostgreSQL, real TCP
proxy between kiosk and server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import NoNumbersLeftError, StoreUnavailableError
from hospital_adapter.his import MessageHeader, MllpRegistrar
from hospital_adapter.outbox import DeliveryReport, OutboxWorker
from hospital_adapter.store import OutboxStatus, Store
from hospital_adapter.store.fleet import FleetSettings, FleetStore
from hospital_adapter.visit import InsuranceStatus
from simulators.bhxh_gateway import Dataset
from simulators.chaos_proxy import ChaosProxy, FaultMix, NetworkFault
from simulators.his import RunningHis

from .helpers import KEY, request_for

NOON = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
DAY = date(2025, 3, 10)
WINDOW = timedelta(minutes=30)


def _through(url: str, address: tuple[str, int]) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{address[0]}:{address[1]}"))


@pytest.fixture
def proxy(pg_url: str) -> Iterator[ChaosProxy]:
    parts = urlsplit(pg_url)
    with ChaosProxy((parts.hostname or "", parts.port or 5432)) as running:
        yield running


def _kiosk(url: str, tmp_path: Path, name: str, **settings: object) -> FleetStore:
    fleet = FleetSettings(kiosk=name, departments=("K01", "K03"), block=5, low_water=2)
    return FleetStore(
        url, str(tmp_path / f"{name}.sqlite3"), KEY, replace(fleet, **settings), clock=lambda: NOON
    )


def _check_in(kiosk: FleetStore, dataset: Dataset, index: int, department: str = "K01") -> int:
    request = request_for(dataset.records[index % len(dataset.records)], department)
    at = NOON + timedelta(seconds=index)
    stored = kiosk.check_in_once(
        request, InsuranceStatus.VERIFIED, now=at, repeat_window=timedelta(0)
    )
    return stored.visit.ticket


def test_two_kiosks_number_from_their_own_blocks(
    pg_url: str, tmp_path: Path, dataset: Dataset
) -> None:
    a, b = _kiosk(pg_url, tmp_path, "A"), _kiosk(pg_url, tmp_path, "B")
    assert a.hand_on().leased == 4  # K01 and K03, today and tomorrow
    assert b.hand_on().leased == 4
    # A holds K01 1-5 (and K03 1-5, tomorrow's too); B holds K01 6-10.
    tickets_a = [_check_in(a, dataset, i) for i in range(4)]
    tickets_b = [_check_in(b, dataset, 10 + i) for i in range(4)]
    assert (tickets_a, tickets_b) == ([1, 2, 3, 4], [6, 7, 8, 9])
    assert a.numbers_left("K01", DAY) == 1
    report = a.hand_on()  # hands on 4 check-ins and leases K01 11-15 (1 left < 2)
    assert (report.handed_on, report.leased, report.waiting) == (4, 1, 0)
    b.hand_on()
    assert [_check_in(a, dataset, 20 + i) for i in range(2)] == [5, 11]
    a.hand_on()
    hospital = Store(pg_url, KEY)
    numbers = [(c.department, c.ticket) for c in hospital.checkins(DAY)]
    assert numbers == [("K01", n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11)]
    assert hospital.outbox_counts() == {"pending": 10, "delivered": 0, "rejected": 0}
    details = [e.detail for e in hospital.audit_entries() if e.action == "lease"]
    assert details[0] == "kiosk=A department=K01 date=2025-03-10 first=1 last=5"
    assert hospital.verify_audit() == 10 + 10  # 10 leases (B took K01 16-20), 10 check-ins
    assert a.journal_store.verify_audit() == 6
    for store in (a, b, hospital):
        store.close()


def test_a_kiosk_cut_off_numbers_from_its_lease_then_hands_on(
    pg_url: str, proxy: ChaosProxy, tmp_path: Path, dataset: Dataset
) -> None:
    kiosk = _kiosk(_through(pg_url, proxy.address), tmp_path, "A", retry_after_s=0.0)
    kiosk.hand_on()
    proxy.set_mix(FaultMix.only(NetworkFault.DROP))  # the link is down
    tickets = [_check_in(kiosk, dataset, i) for i in range(5)]
    assert tickets == [1, 2, 3, 4, 5]
    with pytest.raises(StoreUnavailableError):
        kiosk.hand_on()
    with pytest.raises(NoNumbersLeftError, match="no queue numbers left for K01 on 2025-03-10"):
        _check_in(kiosk, dataset, 5)
    assert _check_in(kiosk, dataset, 6, "K03") == 1  # other departments have their own
    # A registration delivered while cut off is recorded in the journal...
    first = kiosk.journal_store.checkins(DAY)[0]
    key = kiosk.journal_store.visit(first.checkin_id).message_id
    kiosk.mark_delivered(key, NOON)
    proxy.set_mix(None)  # the link is back
    report = kiosk.hand_on()
    assert (report.handed_on, report.waiting) == (6, 0)
    hospital = Store(pg_url, KEY)
    assert sorted((c.department, c.ticket) for c in hospital.checkins(DAY)) == [
        ("K01", 1), ("K01", 2), ("K01", 3), ("K01", 4), ("K01", 5), ("K03", 1),
    ]  # fmt: skip
    # ... and handed on as delivered: no worker sends it again.
    assert hospital.message_status(key) is OutboxStatus.DELIVERED
    assert hospital.outbox_counts() == {"pending": 5, "delivered": 1, "rejected": 0}
    assert kiosk.hand_on().handed_on == 0  # handing on again adds nothing
    assert len(hospital.checkins(DAY)) == 6
    hospital.close()
    kiosk.close()


def test_a_kiosk_that_never_reached_the_hospital_has_no_numbers(
    tmp_path: Path, dataset: Dataset
) -> None:
    kiosk = _kiosk("postgresql://cccd@127.0.0.1:1/cccd", tmp_path, "A")
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        kiosk.hand_on()
    with pytest.raises(NoNumbersLeftError):
        _check_in(kiosk, dataset, 0)
    assert kiosk.journal_store.checkins() == []  # nothing half-written
    kiosk.close()


def test_a_hand_on_repeated_after_a_lost_answer_adds_nothing(
    pg_url: str, tmp_path: Path, dataset: Dataset
) -> None:
    kiosk = _kiosk(pg_url, tmp_path, "A")
    kiosk.hand_on()
    _check_in(kiosk, dataset, 0)
    records = kiosk.journal_store.journal()
    hospital = Store(pg_url, KEY)
    assert hospital.take_journal(records, NOON) == 1
    assert hospital.take_journal(records, NOON) == 0  # the kiosk never heard the first answer
    assert kiosk.hand_on().handed_on == 1
    assert len(hospital.checkins(DAY)) == 1
    assert hospital.verify_audit() == 4 + 1
    hospital.close()
    kiosk.close()


def test_a_patient_tapping_at_a_second_kiosk_gets_the_first_check_in(
    pg_url: str, tmp_path: Path, dataset: Dataset
) -> None:
    a, b = _kiosk(pg_url, tmp_path, "A"), _kiosk(pg_url, tmp_path, "B")
    a.hand_on(), b.hand_on()
    request = request_for(dataset.records[0], "K01")
    first = a.check_in_once(request, InsuranceStatus.VERIFIED, now=NOON, repeat_window=WINDOW)
    a.hand_on()
    again = b.check_in_once(
        request, InsuranceStatus.VERIFIED, now=NOON + timedelta(minutes=2), repeat_window=WINDOW
    )
    assert (again.repeated, again.visit.checkin_id, again.visit.ticket) == (
        True, first.visit.checkin_id, 1,
    )  # fmt: skip
    assert b.journal_store.checkins() == []
    for kiosk in (a, b):
        kiosk.close()


def test_asking_more_often_than_the_retry_delay_does_not_keep_the_store_away(
    pg_url: str, proxy: ChaosProxy, tmp_path: Path
) -> None:
    """Refusals during the quiet time after a failure are not failures: polled every 0.1 s
    (workers do), the kiosk tries again once the 0.5 s are over."""
    kiosk = _kiosk(_through(pg_url, proxy.address), tmp_path, "A", retry_after_s=0.5)
    proxy.set_mix(FaultMix.only(NetworkFault.DROP))
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        kiosk.hand_on()
    proxy.set_mix(None)
    failed_at, refusals = time.monotonic(), 0
    while True:
        try:
            report = kiosk.hand_on()
            break
        except StoreUnavailableError as exc:
            assert "moments ago" in str(exc)
            refusals += 1
            assert time.monotonic() - failed_at < 3.0, "never tried again"
            time.sleep(0.1)
    assert report.leased == 4 and refusals >= 2
    assert time.monotonic() - failed_at < 1.5
    kiosk.close()


def test_a_worker_killed_mid_delivery_never_registers_twice(
    pg_url: str, his: RunningHis, dataset: Dataset
) -> None:
    """Kiosk A's worker claims a message and sends it, and dies before recording the
    delivery; once its claim lapses, kiosk B's worker sends it again with the same key:
    the HIS registers the visit once and recognises the second send."""
    host, port = his.mllp.address
    registrar = MllpRegistrar(host, port, MessageHeader("KIOSK", "79024", "HIS", "79024"))
    a, b = Store(pg_url, KEY, kiosk="A"), Store(pg_url, KEY, kiosk="B")
    visit = a.check_in(request_for(dataset.records[0], "K01"), InsuranceStatus.VERIFIED, now=NOON)
    lease = timedelta(seconds=30)
    [claimed] = a.claim_due(NOON, lease)
    registrar.register(claimed.visit, Deadline.after(5))  # then kiosk A dies
    early = OutboxWorker(b, registrar, clock=lambda: NOON + timedelta(seconds=29))
    assert early.deliver_due() == DeliveryReport()  # A's claim still holds
    late = OutboxWorker(b, registrar, clock=lambda: NOON + timedelta(seconds=31))
    assert late.deliver_due() == DeliveryReport(delivered=1)
    assert list(his.state.registrations) == [visit.message_id]
    assert his.state.duplicates == 1
    assert b.message_status(visit.message_id) is OutboxStatus.DELIVERED
    for store in (a, b):
        store.close()


def test_a_link_that_goes_silent_is_cut_at_the_store_timeout_and_reopened(
    pg_url: str, proxy: ChaosProxy
) -> None:
    """The proxy swallows every request from now on without answering, on the connection
    already open: no error reaches the client, so only the store's watchdog ends the wait
    (the server's own timeouts never see the request)."""
    store = Store(_through(pg_url, proxy.address), KEY, timeout_s=1.0)
    proxy.set_mix(FaultMix.only(NetworkFault.BLACKHOLE))
    pool = ThreadPoolExecutor(1)  # a broken watchdog fails the test instead of hanging it
    read = pool.submit(store.outbox_counts)
    with pytest.raises(StoreUnavailableError, match=r"^store not readable: .*: no answer in time$"):
        read.result(timeout=8.0)  # about the 1 s timeout
    pool.shutdown(wait=False)
    proxy.set_mix(None)
    assert store.outbox_counts() == {"pending": 0, "delivered": 0, "rejected": 0}
    store.close()
