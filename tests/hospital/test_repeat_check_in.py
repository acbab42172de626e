"""A re-tap gets the check-in already made (CheckInService.check_in, Store.check_in_once).

The patient taps again when the kiosk crashed, or the answer was lost, after the check-in
was stored but before the ticket was shown. Same person (HMAC of the ID number), same
department, same service day, within the window: the same check-in, ticket, insurance and
registration status come back; no second ticket, outbox message or HIS visit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hospital_adapter.checkin import COUNTER_NOTE, CheckInResult, RegistrationStatus
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisRejectedError
from hospital_adapter.gateway import InsuranceLookup, LookupQuery
from hospital_adapter.his import InMemoryHis
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.service import REPEAT_WINDOW, CheckInService
from hospital_adapter.store import OutboxStatus, Store
from hospital_adapter.visit import InsuranceStatus, Visit, VisitKind, VisitRequest
from simulators.bhxh_gateway import Dataset, RunningGateway, generate_people

from .conftest import ClientFactory
from .helpers import KEY, request_for

T0 = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
PEOPLE = generate_people(2, seed=5)


def _self_pay(person: int = 0, department: str = "K01") -> VisitRequest:
    return request_for(PEOPLE[person], department, VisitKind.SELF_PAY)


class _NoGateway:
    """Self-pay check-ins never ask the gateway."""

    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup:
        raise AssertionError("the gateway was asked")


class _Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class _Crash(BaseException):
    """The kiosk process dies here (nothing catches it)."""


class _CrashingHis(InMemoryHis):
    """Dies on the first registration, before the HIS got it."""

    def register(self, visit: Visit, deadline: Deadline) -> None:
        raise _Crash


def _service(
    store: Store,
    his: InMemoryHis,
    clock: Callable[[], datetime] | None = None,
    repeat_window: timedelta = REPEAT_WINDOW,
) -> CheckInService:
    return CheckInService(
        _NoGateway(), his, store, clock=clock or _Clock(), repeat_window=repeat_window
    )


def _audit_actions(store: Store) -> list[str]:
    return [entry.action for entry in store.audit_entries()]


def test_a_second_tap_gets_the_same_check_in_and_nothing_new(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory, store: Store
) -> None:
    his = InMemoryHis()
    service = CheckInService(make_client(cache_ttl_s=0), his, store)
    request = request_for(dataset.with_outcome("000"))
    first = service.check_in(request, Deadline.after(5))
    assert (first.ticket, first.insurance, first.insurance_code, first.repeated) == (
        1, InsuranceStatus.VERIFIED, "000", False,
    )  # fmt: skip
    assert first.registration is RegistrationStatus.DELIVERED
    gateway.simulator.down = True  # whatever the gateway says now, the check-in stands
    again = service.check_in(request, Deadline.after(5))
    assert again == replace(first, repeated=True)
    assert (his.calls, list(his.visits)) == (1, [first.checkin_id[:20]])
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 0}
    assert [(s.checkin_id, s.ticket) for s in store.checkins()] == [(first.checkin_id, 1)]
    assert _audit_actions(store) == ["checkin", "delivered", "repeat"]
    assert store.verify_audit() == 3
    other = service.check_in(request_for(dataset.with_outcome("010")), Deadline.after(5))
    assert (other.ticket, other.repeated, other.counter_note) == (2, False, COUNTER_NOTE)


def test_another_department_or_after_the_window_gives_a_new_ticket(store: Store) -> None:
    his, clock = InMemoryHis(), _Clock()
    service = _service(store, his, clock)

    def tap(department: str = "K01", after: timedelta = timedelta(0)) -> CheckInResult:
        clock.at = T0 + after
        return service.check_in(_self_pay(0, department), Deadline.after(5))

    first = tap()
    elsewhere = tap("K02")
    assert (elsewhere.ticket, elsewhere.repeated) == (1, False)  # K02's first ticket
    assert elsewhere.checkin_id != first.checkin_id
    assert tap(after=REPEAT_WINDOW - timedelta(seconds=1)) == replace(first, repeated=True)
    assert timedelta(minutes=30) == REPEAT_WINDOW
    later = tap(after=REPEAT_WINDOW)
    assert (later.ticket, later.repeated) == (2, False)
    assert tap(after=REPEAT_WINDOW + timedelta(minutes=10)) == replace(later, repeated=True)
    assert his.calls == 3
    assert store.outbox_counts()["delivered"] == 3


def test_the_window_is_configurable_and_zero_turns_it_off(store: Store) -> None:
    clock = _Clock()
    short = _service(store, InMemoryHis(), clock, repeat_window=timedelta(minutes=5))
    off = _service(store, InMemoryHis(), clock, repeat_window=timedelta(0))
    assert short.check_in(_self_pay(), Deadline.after(5)).ticket == 1
    assert off.check_in(_self_pay(), Deadline.after(5)).ticket == 2
    clock.at = T0 + timedelta(minutes=4)
    assert short.check_in(_self_pay(), Deadline.after(5)).ticket == 2  # the latest one
    clock.at = T0 + timedelta(minutes=6)
    assert short.check_in(_self_pay(), Deadline.after(5)).ticket == 3


def test_the_next_service_day_gives_a_new_ticket(store: Store) -> None:
    clock = _Clock(datetime(2025, 3, 10, 16, 50, tzinfo=UTC))  # 23:50 in Vietnam
    service = _service(store, InMemoryHis(), clock)
    before = service.check_in(_self_pay(), Deadline.after(5))
    clock.at += timedelta(minutes=20)  # 00:10 the next day: tickets start again
    after = service.check_in(_self_pay(), Deadline.after(5))
    assert (before.ticket, after.ticket, after.repeated) == (1, 1, False)
    assert after.checkin_id != before.checkin_id


def test_a_crash_before_the_ticket_is_shown_then_a_re_tap_gets_the_same_ticket(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kiosk.sqlite3"
    crashed = Store(path, KEY)
    with pytest.raises(_Crash):  # stored, then the process died registering it
        _service(crashed, _CrashingHis()).check_in(_self_pay(), Deadline.after(5))
    crashed.close()

    store, his = Store(path, KEY), InMemoryHis()  # the kiosk restarted
    result = _service(store, his).check_in(_self_pay(), Deadline.after(5))
    [stored] = store.checkins()
    assert (result.checkin_id, result.ticket) == (stored.checkin_id, 1)
    assert (result.repeated, result.registration) == (True, RegistrationStatus.QUEUED)
    assert his.calls == 0  # its one outbox message is the worker's to send
    assert store.outbox_counts() == {"pending": 1, "delivered": 0, "rejected": 0}
    worker = OutboxWorker(store, his, clock=lambda: T0 + timedelta(minutes=1))
    assert worker.deliver_due().delivered == 1
    again = _service(store, his).check_in(_self_pay(), Deadline.after(5))
    assert (again.ticket, again.registration) == (1, RegistrationStatus.DELIVERED)
    assert (his.calls, list(his.visits)) == (1, [result.checkin_id[:20]])
    assert _audit_actions(store) == ["checkin", "repeat", "delivered", "repeat"]
    store.close()


def test_a_rejected_registration_comes_back_rejected_and_is_not_sent_again(
    store: Store,
) -> None:
    his = InMemoryHis()
    his.fail_with = HisRejectedError("AE", "bad PID", retryable=False)
    service = _service(store, his)
    first = service.check_in(_self_pay(), Deadline.after(5))
    again = service.check_in(_self_pay(), Deadline.after(5))
    assert first.registration is again.registration is RegistrationStatus.REJECTED
    assert (again.ticket, again.repeated, his.calls) == (1, True, 1)


def test_simultaneous_taps_make_one_check_in(store: Store) -> None:
    his = InMemoryHis()
    service = _service(store, his)
    results: list[CheckInResult] = []
    start = threading.Barrier(8)

    def tap() -> None:
        start.wait()
        results.append(service.check_in(_self_pay(1), Deadline.after(5)))

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.checkin_id for r in results}) == 1
    assert sorted(r.repeated for r in results) == [False] + [True] * 7
    assert {r.ticket for r in results} == {1}
    assert his.calls == 1
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 0}


def test_store_check_in_once_and_plain_check_in(store: Store) -> None:
    """``check_in`` always stores a new check-in; ``check_in_once`` gives the last back."""
    request = _self_pay()
    status = InsuranceStatus.NOT_APPLICABLE
    plain = [store.check_in(request, status, now=T0).ticket for _ in range(2)]
    once = store.check_in_once(request, status, now=T0, repeat_window=timedelta(minutes=1))
    assert (plain, once.visit.ticket, once.repeated) == ([1, 2], 2, True)
    assert once.registration is OutboxStatus.PENDING
    assert once.visit == store.visit(once.visit.checkin_id)
    other = store.check_in_once(_self_pay(1), status, now=T0, repeat_window=timedelta(minutes=1))
    assert (other.visit.ticket, other.repeated) == (3, False)
    assert [e.detail for e in store.audit_entries()][2] == "department=K01 ticket=2"
