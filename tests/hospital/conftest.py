"""Fixtures: a simulated BHXH gateway and HIS on free ports, clients pointed at them, a store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.gateway import GatewayClient, LookupQuery
from hospital_adapter.identity import BirthDate
from hospital_adapter.store import Store
from simulators import his as his_sim
from simulators.bhxh_gateway import (
    DEFAULT_ACCOUNTS,
    Dataset,
    InsuranceRecord,
    RunningGateway,
    serve,
)

from .facility_pki import SOFTHSM_MODULE, FacilityPki, make_facility, make_token
from .helpers import KEY

STAFF_NAME = "Trần Thị Bình"
STAFF_ID = "079190000001"
ACCOUNT = GatewayAccount("kiosk", DEFAULT_ACCOUNTS["kiosk"], STAFF_NAME, STAFF_ID)


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return Dataset.generated()


@pytest.fixture
def gateway(dataset: Dataset) -> Iterator[RunningGateway]:
    with serve(dataset) as running:
        yield running


@pytest.fixture
def his() -> Iterator[his_sim.RunningHis]:
    with his_sim.serve() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "kiosk.sqlite3", KEY)
    yield opened
    opened.close()


ClientFactory = Callable[..., GatewayClient]


@pytest.fixture
def make_client(gateway: RunningGateway) -> Iterator[ClientFactory]:
    clients: list[GatewayClient] = []

    def make(account: GatewayAccount = ACCOUNT, **settings: Any) -> GatewayClient:
        base = GatewaySettings(url=gateway.url, timeout_s=2.0, backoff_s=0.01, cache_ttl_s=60)
        client = GatewayClient(replace(base, **settings), account)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def query_for(record: InsuranceRecord, *, by: str = "id") -> LookupQuery:
    person = record.person
    key = {"id": person.id_number, "card": record.card_number, "bhxh": record.bhxh_number}[by]
    return LookupQuery(key, person.full_name, BirthDate.of(person.date_of_birth))


@pytest.fixture(scope="session")
def facility(tmp_path_factory: pytest.TempPathFactory) -> FacilityPki:
    """The facility's signing key and self-signed certificate (PEM and PKCS#12)."""
    return make_facility(tmp_path_factory.mktemp("facility"))


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory, facility: FacilityPki) -> Iterator[str]:
    """A SoftHSM2 token holding the facility's key and certificate; yields the PKCS#11
    module. ``SOFTHSM2_CONF`` points at it for the whole session: the library reads it once
    per process (and subprocesses inherit it)."""
    directory = tmp_path_factory.mktemp("softhsm")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(directory / "softhsm2.conf")
    try:
        make_token(directory, facility)
        yield SOFTHSM_MODULE
    finally:
        if previous is None:
            del os.environ["SOFTHSM2_CONF"]
        else:
            os.environ["SOFTHSM2_CONF"] = previous
