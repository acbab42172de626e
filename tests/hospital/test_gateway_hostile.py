"""Truthful errors from a hostile gateway (issue #13 item 9), over real HTTP on 127.0.0.1.

A 5,000-digit number, a token that expired in year 1, and a gzip body of about 100 KB that
inflates to 100 MiB: each is a GatewayProtocolError, the circuit breaker and the token
cache recover once the gateway behaves, and memory stays bounded.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from hospital_adapter import CheckInService, Deadline, InsuranceStatus
from hospital_adapter.errors import GatewayProtocolError
from hospital_adapter.gateway import Decision
from hospital_adapter.gateway.resilience import BreakerState
from hospital_adapter.his import InMemoryHis
from hospital_adapter.store import Store
from simulators.bhxh_gateway import Dataset, Fault, RunningGateway, control
from simulators.bhxh_gateway.server import gzip_bomb

from .conftest import ClientFactory, query_for
from .helpers import KEY, request_for

RESET_S = 0.2


def test_huge_number_is_a_protocol_error_and_the_breaker_recovers(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, breaker_threshold=1, breaker_reset_s=RESET_S, cache_ttl_s=0)
    query = query_for(dataset.with_outcome("000"))
    gateway.simulator.inject(Fault.BIG_NUMBER)
    with pytest.raises(GatewayProtocolError, match="not UTF-8 JSON"):
        client.lookup(query)
    assert client.breaker.state is BreakerState.OPEN
    time.sleep(RESET_S + 0.05)
    gateway.simulator.inject(Fault.BIG_NUMBER)  # the half-open trial call gets it too
    with pytest.raises(GatewayProtocolError):
        client.lookup(query)
    assert client.breaker.state is BreakerState.OPEN  # not stuck half-open
    time.sleep(RESET_S + 0.05)
    assert client.lookup(query).raw_code == "000"
    assert client.breaker.state is BreakerState.CLOSED


def test_huge_number_degrades_the_check_in_instead_of_raising(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory, tmp_path: Path
) -> None:
    record = dataset.with_outcome("000")
    store = Store(tmp_path / "s.sqlite3", KEY)
    service = CheckInService(make_client(attempts=1), InMemoryHis(), store)
    gateway.simulator.inject(Fault.BIG_NUMBER, count=2)
    check = service.lookup_insurance(request_for(record).identity, Deadline.after(5))
    assert (check.decision, check.lookup, check.degraded) == (Decision.RETRY, None, True)
    result = service.check_in(request_for(record), Deadline.after(5))
    assert result.insurance is InsuranceStatus.TO_VERIFY_AT_COUNTER
    store.close()


def test_token_expired_in_year_one_is_refused_and_never_cached(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, breaker_threshold=100, cache_ttl_s=0)
    query = query_for(dataset.with_outcome("000"))
    control(gateway.url, {"token_expires_in": "0001-01-01T00:00:00+00:00"})
    for _ in range(2):
        with pytest.raises(GatewayProtocolError, match="already expired"):
            client.lookup(query)
    assert gateway.simulator.stats.token_takes == 2  # taken again each time: none kept
    control(gateway.url, {"token_expires_in": None})
    assert client.lookup(query).raw_code == "000"
    assert client.lookup(query).raw_code == "000"
    assert gateway.simulator.stats.token_takes == 3


def test_token_valid_until_year_9999_is_used(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(cache_ttl_s=0)
    control(gateway.url, {"token_expires_in": "9999-12-31T23:59:59.9999999Z"})
    for code in ("000", "001"):
        assert client.lookup(query_for(dataset.with_outcome(code))).raw_code == code
    assert gateway.simulator.stats.token_takes == 1


def test_gzip_bomb_is_refused_with_bounded_memory(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    bomb = gzip_bomb()  # made before measuring: the simulator shares this process
    assert len(bomb) < 200_000
    client = make_client(attempts=1, breaker_threshold=100)
    query = query_for(dataset.with_outcome("000"))
    client.lookup(query_for(dataset.with_outcome("001")))  # token taken, pool warm
    peaks = []
    for _ in range(3):
        gateway.simulator.inject(Fault.GZIP_BOMB)
        tracemalloc.start()
        try:
            with pytest.raises(GatewayProtocolError, match="more than 65536 bytes"):
                client.lookup(query)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert max(peaks) < 2 * 1024 * 1024, peaks
    assert client.lookup(query).raw_code == "000"
