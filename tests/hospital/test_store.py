"""The store: atomic check-ins, encryption at rest, outbox, audit chain, purge; the tests
on the ``store`` fixture run on SQLite and on PostgreSQL, the others tamper with the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hospital_adapter.errors import AuditChainError, StoreError, StoreKeyError
from hospital_adapter.store import OutboxStatus, Store
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus, Visit
from simulators.bhxh_gateway import Dataset

from .helpers import KEY, request_for

NOON = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    location = (
        str(tmp_path / "store.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    opened = Store(location, KEY)
    yield opened
    opened.close()


def test_tickets_count_per_department_per_day(store: Store, dataset: Dataset) -> None:
    people = [r.person for r in dataset.records]
    tickets = [
        store.check_in(request_for(people[0], "K01"), InsuranceStatus.VERIFIED, now=NOON).ticket,
        store.check_in(request_for(people[1], "K01"), InsuranceStatus.VERIFIED, now=NOON).ticket,
        store.check_in(request_for(people[2], "K02"), InsuranceStatus.VERIFIED, now=NOON).ticket,
        store.check_in(request_for(people[3], "K01"), InsuranceStatus.VERIFIED, now=NOON).ticket,
    ]
    # 17:30 UTC is 00:30 the next day in Vietnam: a new day, numbering restarts.
    next_day = datetime(2025, 3, 10, 17, 30, tzinfo=UTC)
    visit = store.check_in(request_for(people[4], "K01"), InsuranceStatus.VERIFIED, now=next_day)
    assert tickets == [1, 2, 1, 3]
    assert (visit.ticket, visit.service_date) == (1, date(2025, 3, 11))


def test_check_in_is_recorded_with_outbox_and_audit(store: Store, dataset: Dataset) -> None:
    record = dataset.with_outcome("000")
    visit = store.check_in(
        request_for(record), InsuranceStatus.VERIFIED, insurance_code="000", now=NOON
    )
    assert len(visit.checkin_id) == 32 and visit.message_id == visit.checkin_id[:20]
    assert store.visit(visit.checkin_id) == visit
    assert store.registration_status(visit.checkin_id) == OutboxStatus.PENDING
    [summary] = store.checkins(date(2025, 3, 10))
    assert (summary.department, summary.ticket, summary.insurance_code) == ("K01", 1, "000")
    assert (summary.insurance_status, summary.registration) == ("verified", "pending")
    assert store.outbox_counts() == {"pending": 1, "delivered": 0, "rejected": 0}
    [entry] = list(store.audit_entries())
    assert (entry.seq, entry.action) == (1, "checkin")
    assert entry.detail == "department=K01 ticket=1 insurance=verified identity=typed"
    assert entry.subject == store.identity_pseudonym(visit.identity)
    assert store.verify_audit() == 1


def test_no_personal_data_in_the_file(tmp_path: Path, dataset: Dataset) -> None:
    store = Store(tmp_path / "s.sqlite3", KEY)
    record = dataset.with_outcome("000")
    store.check_in(request_for(record), InsuranceStatus.VERIFIED, now=NOON)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    person = record.person
    for secret in (person.id_number, person.full_name, "Lê Lợi", record.card_number):
        assert secret.encode() not in raw
    assert b"K01" in raw  # the file is readable at all


def test_wrong_key_or_moved_ciphertext_is_refused(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, KEY)
    people = [r.person for r in dataset.records]
    a = store.check_in(request_for(people[0]), InsuranceStatus.VERIFIED, now=NOON)
    b = store.check_in(request_for(people[1]), InsuranceStatus.VERIFIED, now=NOON)
    with pytest.raises(StoreKeyError) as wrong:
        Store(path, bytes(32))
    assert str(wrong.value) == (
        "wrong store key: this store was created with another CCCD_HOSPITAL_KEY / [store] key_file"
    )
    with sqlite3.connect(path) as conn:  # paste b's sealed data into a's row
        conn.execute(
            "UPDATE checkins SET personal = (SELECT personal FROM checkins WHERE id = ?)"
            " WHERE id = ?",
            (b.checkin_id, a.checkin_id),
        )
    with pytest.raises(StoreError, match="authentication"):
        store.visit(a.checkin_id)


def test_audit_chain_detects_edits_and_deletions(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, KEY)
    for record in dataset.records[:3]:
        store.check_in(request_for(record), InsuranceStatus.VERIFIED, now=NOON)
    assert store.verify_audit() == 3
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit SET detail = 'department=K09 ticket=1' WHERE seq = 2")
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (2, "content does not match its hash")
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 2")
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (3, "expected entry 2")


def test_outbox_claim_lease_deliver_fail_and_retry(store: Store, dataset: Dataset) -> None:
    people = [r.person for r in dataset.records]
    v1 = store.check_in(request_for(people[0]), InsuranceStatus.VERIFIED, now=NOON)
    v2 = store.check_in(request_for(people[1]), InsuranceStatus.VERIFIED, now=NOON)
    lease = timedelta(seconds=30)
    claimed = store.claim_due(NOON, lease)
    assert [(m.key, m.attempts) for m in claimed] == [(v1.message_id, 0), (v2.message_id, 0)]
    assert claimed[0].visit == v1
    assert store.claim_due(NOON + timedelta(seconds=29), lease) == []  # leased
    store.mark_delivered(v1.message_id, now=NOON)
    store.mark_failed(v2.message_id, "HIS down", NOON + timedelta(seconds=60), now=NOON)
    assert store.claim_due(NOON + timedelta(seconds=59), lease) == []
    [again] = store.claim_due(NOON + timedelta(seconds=60), lease)
    assert (again.key, again.attempts) == (v2.message_id, 1)
    store.mark_failed(v2.message_id, "AE: PID-3 invalid", None, now=NOON)
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "rejected": 1}
    assert store.retry_rejected(now=NOON) == 1
    assert [m.key for m in store.claim_due(NOON, lease)] == [v2.message_id]
    actions = [e.action for e in store.audit_entries()]
    assert actions == ["checkin", "checkin", "delivered", "rejected", "retry"]
    assert store.verify_audit() == 5


def test_purge_removes_settled_old_check_ins_only(store: Store, dataset: Dataset) -> None:
    people = [r.person for r in dataset.records]
    old = NOON - timedelta(days=100)
    delivered = store.check_in(request_for(people[0]), InsuranceStatus.VERIFIED, now=old)
    pending = store.check_in(request_for(people[1]), InsuranceStatus.VERIFIED, now=old)
    recent = store.check_in(request_for(people[2]), InsuranceStatus.VERIFIED, now=NOON)
    store.mark_delivered(delivered.message_id, now=old)
    store.mark_delivered(recent.message_id, now=NOON)
    assert store.purge(90, now=NOON) == 1
    assert {s.checkin_id for s in store.checkins()} == {pending.checkin_id, recent.checkin_id}
    with pytest.raises(StoreError, match="no check-in"):
        store.visit(delivered.checkin_id)
    assert list(store.audit_entries())[-1].detail == "before=2024-12-10 checkins=1"
    assert store.verify_audit() == 6


def test_visit_round_trips_through_json(store: Store, dataset: Dataset) -> None:
    visit = store.check_in(request_for(dataset.records[0]), InsuranceStatus.VERIFIED, now=NOON)
    assert Visit.from_dict(visit.to_dict()) == visit
    assert visit.arrived_at.astimezone(VIETNAM_TIME).hour == 12


def _audited_store(path: Path, dataset: Dataset, count: int = 4) -> Store:
    store = Store(path, KEY)
    for record in dataset.records[:count]:
        store.check_in(request_for(record), InsuranceStatus.VERIFIED, now=NOON)
    return store


def _sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement)
    conn.close()


def test_clean_chain_ends_at_the_checkpoint(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    store = _audited_store(path, dataset)
    store.mark_delivered(store.claim_due(NOON, timedelta(seconds=1))[0].key, now=NOON)
    assert store.verify_audit() == 5
    assert Store(path, KEY).verify_audit() == 5  # another connection, same answer
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count FROM audit_checkpoint").fetchall() == [(5,)]
    conn.close()


@pytest.mark.parametrize(
    ("keep", "reason"),
    [
        (3, "the newest 1 entry is missing (the checkpoint counts 4)"),
        (2, "the newest 2 entries are missing (the checkpoint counts 4)"),
        (0, "the newest 4 entries are missing (the checkpoint counts 4)"),
    ],
)
def test_truncation_of_the_newest_entries_is_detected(
    tmp_path: Path, dataset: Dataset, keep: int, reason: str
) -> None:
    path = tmp_path / "s.sqlite3"
    store = _audited_store(path, dataset)
    _sql(path, f"DELETE FROM audit WHERE seq > {keep}")
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (keep + 1, reason)


def test_truncation_stays_detected_after_new_check_ins(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    store = _audited_store(path, dataset)
    _sql(path, "DELETE FROM audit WHERE seq > 2")
    store.check_in(request_for(dataset.records[5]), InsuranceStatus.VERIFIED, now=NOON)
    # The new entry follows the checkpoint (entry 5), so the gap shows instead of healing.
    assert [e.seq for e in store.audit_entries()] == [1, 2, 5]
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (5, "expected entry 3")


def test_tampering_with_a_middle_entry_is_detected(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    store = _audited_store(path, dataset)
    _sql(path, "UPDATE audit SET subject = 'someone else' WHERE seq = 2")
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (2, "content does not match its hash")


def test_forged_or_missing_checkpoint_is_reported_and_check_ins_go_on(
    tmp_path: Path, dataset: Dataset
) -> None:
    path = tmp_path / "s.sqlite3"
    store = _audited_store(path, dataset)
    # Truncate and lower the count to match, without the key: the MAC gives it away.
    _sql(path, "DELETE FROM audit WHERE seq = 4")
    _sql(
        path,
        "UPDATE audit_checkpoint SET count = 3, hash = (SELECT hash FROM audit WHERE seq = 3)",
    )
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (3, "the checkpoint fails authentication")
    visit = store.check_in(request_for(dataset.records[5]), InsuranceStatus.VERIFIED, now=NOON)
    assert visit.ticket == 5  # never refused for the audit log's sake
    with pytest.raises(AuditChainError, match="checkpoint fails authentication"):
        store.verify_audit()
    _sql(path, "DELETE FROM audit_checkpoint")
    store.check_in(request_for(dataset.records[6]), InsuranceStatus.VERIFIED, now=NOON)
    with pytest.raises(AuditChainError) as info:
        store.verify_audit()
    assert (info.value.seq, info.value.reason) == (5, "the checkpoint is missing")


def test_a_store_from_before_checkpoints_adopts_its_chain(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "s.sqlite3"
    _audited_store(path, dataset).close()
    _sql(path, "DROP TABLE audit_checkpoint")
    store = Store(path, KEY)
    assert store.verify_audit() == 4
    _sql(path, "DELETE FROM audit WHERE seq = 4")
    with pytest.raises(AuditChainError, match="newest 1 entry is missing"):
        store.verify_audit()
