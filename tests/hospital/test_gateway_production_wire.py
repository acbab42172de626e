"""The gateway client and the simulated gateway on the production wire (docs/domain.md §3):
upper-case MD5, codes of 10, 12, 15 and 17 characters, ``maKetQua`` 401 inside HTTP 200."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from hospital_adapter.errors import GatewayAuthError
from hospital_adapter.gateway import LookupQuery, ResultCode
from hospital_adapter.identity import BirthDate
from simulators.bhxh_gateway import DEFAULT_ACCOUNTS, Dataset, Fault, RunningGateway

from .conftest import ACCOUNT, ClientFactory


def _take_token(url: str, password_hash: str) -> tuple[int, dict[str, object]]:
    form = urllib.parse.urlencode({"username": "kiosk", "password": password_hash}).encode()
    request = urllib.request.Request(url + "/api/token/take", data=form, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_simulator_takes_the_upper_case_md5_and_refuses_the_lower_case_one(
    gateway: RunningGateway,
) -> None:
    md5 = hashlib.md5(DEFAULT_ACCOUNTS["kiosk"].encode()).hexdigest()
    status, answer = _take_token(gateway.url, md5.upper())
    assert (status, answer["maKetQua"]) == (200, "200")
    refused = (401, {"maKetQua": "401", "ghiChu": "Lỗi xác thực"})
    assert _take_token(gateway.url, md5) == refused
    assert _take_token(gateway.url, hashlib.md5(b"wrong").hexdigest().upper()) == refused


@pytest.mark.parametrize("by", ["bhxh", "id", "card", "code17"])
def test_lookup_by_each_code_length(
    by: str, dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome("000")
    code = {
        "bhxh": record.bhxh_number,
        "id": record.person.id_number,
        "card": record.card_number,
        "code17": record.code17,
    }[by]
    assert len(code) == {"bhxh": 10, "id": 12, "card": 15, "code17": 17}[by]
    query = LookupQuery(code, record.person.full_name, BirthDate.of(record.person.date_of_birth))
    result = make_client().lookup(query)
    assert (result.code, result.bhxh_number) == (ResultCode.VALID, record.bhxh_number)
    assert result.card is not None and result.card.card_number == record.card_number
    assert [body["maThe"] for body in gateway.simulator.stats.lookup_bodies] == [code]


def test_unknown_17_character_code_is_not_found(
    dataset: Dataset, make_client: ClientFactory
) -> None:
    person = dataset.with_outcome("000").person
    query = LookupQuery("HC499999999999901", person.full_name, BirthDate(1950))
    assert make_client().lookup(query).raw_code == "050"


def test_401_inside_http_200_takes_a_new_token(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(cache_ttl_s=0)
    record = dataset.with_outcome("000")
    query = LookupQuery(
        record.person.id_number,
        record.person.full_name,
        BirthDate.of(record.person.date_of_birth),
    )
    assert client.lookup(query).raw_code == "000"
    gateway.simulator.inject(Fault.AUTH_IN_200)
    result = client.lookup(query)
    assert (result.raw_code, result.from_cache) == ("000", False)
    stats = gateway.simulator.stats
    assert (stats.token_takes, stats.lookups, stats.faults_served) == (2, 3, 1)


def test_401_inside_http_200_twice_is_an_auth_error(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome("000")
    query = LookupQuery(record.person.id_number, record.person.full_name, BirthDate(1900))
    gateway.simulator.inject(Fault.AUTH_IN_200, count=2)
    with pytest.raises(GatewayAuthError) as info:
        make_client(ACCOUNT).lookup(query)
    assert info.value.code == "401"
    assert gateway.simulator.stats.token_takes == 2
