"""The gateway client against the simulated gateway over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
import unicodedata
from datetime import date

import pytest

from hospital_adapter.config import GatewayAccount
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    CircuitOpenError,
    GatewayAuthError,
    GatewayProtocolError,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from hospital_adapter.gateway import Decision, LookupQuery, ResultCode
from hospital_adapter.identity import BirthDate
from simulators.bhxh_gateway import Dataset, Fault, RunningGateway

from .conftest import ACCOUNT, STAFF_ID, STAFF_NAME, ClientFactory, query_for


def _strip_marks(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


RECORD_OUTCOMES = ["000", "001", "002", "003", "004", "010", "080", "090", "110"]
RECORD_OUTCOMES += ["120", "121", "122", "123", "124", "130"]


@pytest.mark.parametrize("outcome", RECORD_OUTCOMES)
def test_every_record_outcome_over_http(
    outcome: str, dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome(outcome)
    result = make_client().lookup(query_for(record))
    assert result.raw_code == outcome
    assert result.code is ResultCode(outcome)
    assert result.decision is ResultCode(outcome).decision
    if outcome == "130":
        assert result.card is None
        return
    assert result.card is not None
    assert result.holder is not None and result.holder.full_name == record.person.full_name
    assert result.bhxh_number == record.bhxh_number
    if outcome in ("003", "004"):
        assert result.card.card_number == record.new_card_number
        assert result.card.valid_to == record.new_valid_to
        assert result.replaced_card_number == record.card_number
    else:
        assert result.card.card_number == record.card_number
        assert result.card.valid_to == record.valid_to
        assert result.card.primary_care_facility == record.facility


def test_request_carries_staff_identity_and_formats(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome("000")
    make_client().lookup(query_for(record))
    assert gateway.simulator.stats.lookup_bodies == [
        {
            "maThe": record.person.id_number,
            "hoTen": record.person.full_name,
            "ngaySinh": record.person.date_of_birth.strftime("%d/%m/%Y"),
            "hoTenCb": STAFF_NAME,
            "cccdCb": STAFF_ID,
        }
    ]


def test_unlinked_record_not_found_by_id_but_found_by_card_and_bhxh(
    dataset: Dataset, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome("000", linked=False)
    client = make_client(cache_ttl_s=0)
    assert client.lookup(query_for(record)).code is ResultCode.NOT_FOUND
    assert client.lookup(query_for(record, by="card")).code is ResultCode.VALID
    assert client.lookup(query_for(record, by="bhxh")).code is ResultCode.VALID


def test_request_dependent_codes(dataset: Dataset, make_client: ClientFactory) -> None:
    record = dataset.with_outcome("000")
    person, card = record.person, record.card_number
    birth = BirthDate.of(person.date_of_birth)
    client = make_client(cache_ttl_s=0)

    def code(card_or_id: str, name: str = person.full_name, dob: BirthDate = birth) -> str:
        return client.lookup(LookupQuery(card_or_id, name, dob)).raw_code

    other_province = "01" if card[3:5] != "01" else "79"
    assert code("001300999999", dob=BirthDate(2000)) == "050"
    assert code("ZZ" + card[2:]) == "051"
    assert code(card[:3] + other_province + card[5:]) == "052"
    assert code(card[:2] + ("5" if card[2] != "5" else "3") + card[3:]) == "053"
    assert code(person.id_number, name="Trương Vô Kỵ") == "060"
    assert code(person.id_number, name=person.full_name.upper()) == "000"
    assert code(person.id_number, name=_strip_marks(person.full_name)) == "061"
    assert code(person.id_number, dob=BirthDate(1901, 1, 1)) == "070"
    assert code(person.id_number, dob=BirthDate(person.date_of_birth.year)) == "000"


@pytest.mark.parametrize(
    ("staff_name", "staff_id", "code"), [(" ", STAFF_ID, "054"), (STAFF_NAME, "12345", "055")]
)
def test_staff_identity_problems_are_configuration_errors(
    staff_name: str, staff_id: str, code: str, dataset: Dataset, make_client: ClientFactory
) -> None:
    account = GatewayAccount(ACCOUNT.username, ACCOUNT.password, staff_name, staff_id)
    client = make_client(account)
    result = client.lookup(query_for(dataset.with_outcome("000")))
    assert (result.raw_code, result.decision) == (code, Decision.CONFIGURATION_ERROR)
    assert client.lookup(query_for(dataset.with_outcome("000"))).from_cache is False


def test_wrong_password_is_an_auth_error(dataset: Dataset, make_client: ClientFactory) -> None:
    client = make_client(GatewayAccount("kiosk", "wrong", STAFF_NAME, STAFF_ID))
    with pytest.raises(GatewayAuthError) as info:
        client.lookup(query_for(dataset.with_outcome("000")))
    assert info.value.code == "401"


def test_token_is_cached_and_retaken_after_expiry_mid_session(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(cache_ttl_s=0)
    records = [dataset.with_outcome(code) for code in ("000", "001", "002")]
    assert client.lookup(query_for(records[0])).raw_code == "000"
    assert client.lookup(query_for(records[1])).raw_code == "001"
    assert gateway.simulator.stats.token_takes == 1
    gateway.simulator.expire_tokens()
    assert client.lookup(query_for(records[2])).raw_code == "002"
    gateway.simulator.inject(Fault.TOKEN_EXPIRED)
    assert client.lookup(query_for(records[0])).raw_code == "000"
    assert gateway.simulator.stats.token_takes == 3
    assert gateway.simulator.stats.lookups == 6  # 3 answered + 2 refused with 401 + 1


def test_transient_faults_are_retried(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = dataset.with_outcome("000")
    gateway.simulator.inject(Fault.RESET)
    gateway.simulator.inject(Fault.HTTP_500)
    result = make_client(attempts=3).lookup(query_for(record))
    assert result.raw_code == "000"
    assert gateway.simulator.stats.lookups == 1  # the reset and the 500 are not counted
    assert gateway.simulator.stats.faults_served == 2


@pytest.mark.parametrize("fault", [Fault.CODE_100, Fault.CODE_101, Fault.CODE_500])
def test_persistent_server_error_codes_come_back_as_retry(
    fault: Fault, dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    gateway.simulator.inject(fault, count=5)
    client = make_client(attempts=3)
    result = client.lookup(query_for(dataset.with_outcome("000")))
    assert (result.raw_code, result.decision) == (fault.value, Decision.RETRY)
    assert gateway.simulator.stats.faults_served == 3
    assert client.cache.get(query_for(dataset.with_outcome("000")).cache_key()) is None


def test_gateway_down_raises_unavailable_after_bounded_attempts(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=2)
    client.lookup(query_for(dataset.with_outcome("001")))  # token taken while up
    gateway.simulator.down = True
    with pytest.raises(GatewayUnavailableError, match="cannot reach"):
        client.lookup(query_for(dataset.with_outcome("000")))
    assert gateway.simulator.stats.faults_served == 0


def test_http_500_and_garbage(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    gateway.simulator.inject(Fault.HTTP_500, count=2)
    with pytest.raises(GatewayUnavailableError) as info:
        make_client(attempts=2).lookup(query_for(dataset.with_outcome("000")))
    assert info.value.code == "500"
    gateway.simulator.inject(Fault.GARBAGE)
    with pytest.raises(GatewayProtocolError, match="not UTF-8 JSON"):
        make_client(attempts=3).lookup(query_for(dataset.with_outcome("000")))
    assert gateway.simulator.stats.faults_served == 3  # a malformed answer is not retried


def test_rate_limit_is_unavailable_with_code_429(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1)
    gateway.simulator.rate_limit = (2, 60.0)  # the token and one lookup
    client.lookup(query_for(dataset.with_outcome("000")))
    with pytest.raises(GatewayUnavailableError) as info:
        client.lookup(query_for(dataset.with_outcome("001")))
    assert info.value.code == "429"


def test_hanging_gateway_times_out(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    gateway.simulator.inject(Fault.HANG)
    gateway.simulator.hang_s = 3.0
    client = make_client(attempts=1, timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(GatewayTimeoutError):
        client.lookup(query_for(dataset.with_outcome("000")))
    assert time.monotonic() - start < 2.0


def test_slow_gateway_does_not_block_past_the_deadline(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=5, timeout_s=30.0)
    client.lookup(query_for(dataset.with_outcome("001")))
    gateway.simulator.latency = 3.0
    start = time.monotonic()
    with pytest.raises(GatewayTimeoutError):
        client.lookup(query_for(dataset.with_outcome("000")), Deadline.after(0.5))
    assert time.monotonic() - start < 1.5


def test_circuit_opens_and_stops_calling_a_dead_gateway(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, breaker_threshold=2, breaker_reset_s=60.0)
    client.lookup(query_for(dataset.with_outcome("001")))
    gateway.simulator.inject(Fault.HTTP_500, count=2)
    for _ in range(2):
        with pytest.raises(GatewayUnavailableError):
            client.lookup(query_for(dataset.with_outcome("000")))
    with pytest.raises(CircuitOpenError):
        client.lookup(query_for(dataset.with_outcome("000")))
    assert gateway.simulator.stats.lookups == 1
    assert gateway.simulator.stats.faults_served == 2


def test_cache_answers_repeat_lookups_without_calling(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client()
    record = dataset.with_outcome("000")
    first = client.lookup(query_for(record))
    second = client.lookup(query_for(record))
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.card == first.card
    assert gateway.simulator.stats.lookups == 1


def test_expired_card_is_self_pay(dataset: Dataset, make_client: ClientFactory) -> None:
    result = make_client().lookup(query_for(dataset.with_outcome("010")))
    assert result.decision is Decision.SELF_PAY
    assert result.card is not None and result.card.valid_to is not None
    assert result.card.valid_to < date.today()
