"""A kiosk configured with the hospital's PostgreSQL store (``[store] url``): its check-ins
go through its journal to PostgreSQL, numbered from the blocks it leased; the staff screen
says where they are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from hospital_adapter import FleetStore, InsuranceStatus, Store, VisitKind
from hospital_adapter.config import StoreSettings
from hospital_adapter.visit import VIETNAM_TIME, utc_now
from kiosk.app import open_store
from kiosk.config import KioskConfig
from simulators.bhxh_gateway import Dataset
from tests.hospital.helpers import KEY, request_for, wait_until


def test_a_kiosk_with_a_hospital_url_checks_in_through_its_journal(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = urlsplit(pg_url)
    monkeypatch.setenv("PGPASSWORD", parts.password or "")
    bare = urlunsplit(parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}"))
    settings = StoreSettings(
        path=str(tmp_path / "journal.sqlite3"), url=bare, kiosk_id="hall-1", lease_block=5
    )
    config = KioskConfig(store=settings)
    department = config.departments[0].code
    today = utc_now().astimezone(VIETNAM_TIME).date()
    store = open_store(config, KEY)
    try:
        assert isinstance(store, FleetStore)
        assert wait_until(lambda: store.numbers_left(department, today) == 5, 10)
        request = request_for(Dataset.generated().records[0], department, VisitKind.SELF_PAY)
        stored = store.check_in_once(
            request, InsuranceStatus.NOT_APPLICABLE, repeat_window=timedelta(minutes=30)
        )
        assert (stored.repeated, stored.visit.ticket) == (False, 1)
        hospital = Store(pg_url, KEY)
        assert wait_until(lambda: len(hospital.checkins(today)) == 1, 10)
        [summary] = hospital.checkins(today)
        assert (summary.checkin_id, summary.department, summary.ticket) == (
            stored.visit.checkin_id, department, 1,
        )  # fmt: skip
        assert store.describe() == "hospital store online; 0 not handed on"
        hospital.close()
    finally:
        store.close()
