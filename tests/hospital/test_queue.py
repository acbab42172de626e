"""The waiting line: calls go priority first, then by arrival; a room's previous ticket is
served when it calls the next; counters calling at once never share a ticket. On SQLite
and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hospital_adapter.errors import InvalidInputError
from hospital_adapter.store import QueueEntry, QueueStatus, Store
from hospital_adapter.visit import InsuranceStatus, Priority
from simulators.bhxh_gateway import Dataset

from .helpers import KEY, request_for

NOON = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
DAY = date(2025, 3, 10)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    opened = Store(location, KEY)
    yield opened
    opened.close()


def _arrive(store: Store, dataset: Dataset, index: int, minute: int, priority: Priority) -> int:
    record = dataset.records[index % len(dataset.records)]  # the same person in another minute
    request = replace(request_for(record, "K03"), priority=priority)
    at = NOON + timedelta(minutes=minute)
    return store.check_in(request, InsuranceStatus.VERIFIED, now=at).ticket


def test_calls_go_priority_first_then_by_arrival(store: Store, dataset: Dataset) -> None:
    plain = [_arrive(store, dataset, i, i, Priority.NONE) for i in range(3)]  # 1, 2, 3
    elderly = _arrive(store, dataset, 3, 5, Priority.ELDERLY)  # 4
    child = _arrive(store, dataset, 4, 6, Priority.CHILD_UNDER_6)  # 5
    assert (plain, elderly, child) == ([1, 2, 3], 4, 5)
    waiting = store.queue(DAY, "K03")
    assert [(e.ticket, e.priority, e.status) for e in waiting] == [
        (4, True, QueueStatus.WAITING),
        (5, True, QueueStatus.WAITING),
        (1, False, QueueStatus.WAITING),
        (2, False, QueueStatus.WAITING),
        (3, False, QueueStatus.WAITING),
    ]
    at = NOON + timedelta(minutes=10)
    calls = [store.call_next("K03", "203", now=at + timedelta(seconds=s)) for s in range(6)]
    assert [c.ticket if c else None for c in calls] == [4, 5, 1, 2, 3, None]
    first = calls[0]
    assert first == QueueEntry(
        service_date=DAY,
        department="K03",
        ticket=4,
        status=QueueStatus.CALLED,
        priority=True,
        arrived_at=NOON + timedelta(minutes=5),
        room="203",
        called_at=at,
    )
    after = {e.ticket: (e.status, e.room) for e in store.queue(DAY, "K03")}
    assert after == {
        4: (QueueStatus.SERVED, "203"),
        5: (QueueStatus.SERVED, "203"),
        1: (QueueStatus.SERVED, "203"),
        2: (QueueStatus.SERVED, "203"),
        3: (QueueStatus.SERVED, "203"),  # the sixth call found nobody: 3 was served
    }
    actions = [(e.action, e.detail) for e in store.audit_entries()][-5:]
    assert actions[0] == ("call", "department=K03 ticket=4 room=203")
    assert store.verify_audit() == 10


def test_two_rooms_each_have_their_own_called_ticket(store: Store, dataset: Dataset) -> None:
    for i in range(3):
        _arrive(store, dataset, i, i, Priority.NONE)
    at = NOON + timedelta(minutes=10)
    assert store.call_next("K03", "203", now=at).ticket == 1  # type: ignore[union-attr]
    assert store.call_next("K03", "204", now=at).ticket == 2  # type: ignore[union-attr]
    assert store.call_next("K03", "203", now=at).ticket == 3  # type: ignore[union-attr]
    rooms = {e.ticket: (e.status, e.room) for e in store.queue(DAY, "K03")}
    assert rooms == {
        1: (QueueStatus.SERVED, "203"),
        2: (QueueStatus.CALLED, "204"),
        3: (QueueStatus.CALLED, "203"),
    }
    assert store.queue(DAY, "K01") == []
    assert store.queue(DAY + timedelta(days=1)) == []


@pytest.mark.parametrize("room", ["", "x" * 17, "20\n3"])
def test_a_bad_room_is_refused(store: Store, room: str) -> None:
    with pytest.raises(InvalidInputError, match="room"):
        store.call_next("K03", room, now=NOON)


def test_counters_calling_at_once_never_share_a_ticket(location: str, dataset: Dataset) -> None:
    """Eight counters, each its own connection, call 40 waiting tickets at once."""
    with_store = Store(location, KEY)
    for i in range(40):
        _arrive(with_store, dataset, i, i, Priority.NONE)
    counters = [Store(location, KEY) for _ in range(8)]
    called: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(counters))

    def work(room: int, counter: Store) -> None:
        start.wait()
        while (
            entry := counter.call_next("K03", f"R{room}", now=NOON + timedelta(hours=1))
        ) is not None:
            with lock:
                called.append(entry.ticket)

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(counters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(called) == list(range(1, 41))
    assert with_store.verify_audit() == 80
    for counter in [with_store, *counters]:
        counter.close()
