"""The simulated gateway's ``/_sim/control`` endpoint over real HTTP, as the kiosk tests and
``make run`` drive a gateway running in another process: outage, latency, faults, tokens,
rate limit, and refusal of malformed commands (nothing applied)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from hospital_adapter.errors import (
    GatewayAuthError,
    GatewayProtocolError,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from hospital_adapter.gateway import Decision, GatewayClient
from simulators.bhxh_gateway import CONTROL_PATH, Dataset, Fault, RunningGateway, control
from simulators.bhxh_gateway.server import gzip_bomb

from .conftest import ClientFactory, query_for

INITIAL_STATE = {
    "latency": 0.0,
    "hang_s": 5.0,
    "down": False,
    "rate_limit": None,
    "faults_pending": [],
    "tokens": 0,
    "token_expires_in": None,
    "stats": {
        "token_takes": 0,
        "lookups": 0,
        "faults_served": 0,
        "histories": 0,
        "submissions": 0,
        "reports": 0,
    },
}


def test_state_starts_clean_and_counts_calls(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    assert control(gateway.url) == INITIAL_STATE
    make_client().lookup(query_for(dataset.with_outcome("000")))
    state = control(gateway.url)
    assert state["stats"] == {**INITIAL_STATE["stats"], "token_takes": 1, "lookups": 1}
    assert state["tokens"] == 1


def test_outage_on_and_off(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, cache_ttl_s=0, breaker_threshold=100)
    query = query_for(dataset.with_outcome("000"))
    assert control(gateway.url, {"down": True})["down"] is True
    with pytest.raises(GatewayUnavailableError, match="cannot reach"):
        client.lookup(query)
    assert control(gateway.url)["stats"]["lookups"] == 0  # refused before any lookup
    assert control(gateway.url, {"down": False})["down"] is False
    assert client.lookup(query).raw_code == "000"


def test_latency_is_added_to_each_call_and_can_be_removed(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(cache_ttl_s=0)
    query = query_for(dataset.with_outcome("000"))
    client.lookup(query)  # token taken without latency
    assert control(gateway.url, {"latency": 0.3})["latency"] == 0.3
    start = time.monotonic()
    assert client.lookup(query).raw_code == "000"
    assert time.monotonic() - start >= 0.3
    control(gateway.url, {"latency": 0})
    start = time.monotonic()
    client.lookup(query)
    assert time.monotonic() - start < 0.3


def _raises(error: type[Exception], text: str) -> Callable[[GatewayClient, Any], None]:
    def check(client: GatewayClient, query: Any) -> None:
        with pytest.raises(error, match=text):
            client.lookup(query)

    return check


def _answers(code: str, decision: Decision) -> Callable[[GatewayClient, Any], None]:
    def check(client: GatewayClient, query: Any) -> None:
        result = client.lookup(query)
        assert (result.raw_code, result.decision) == (code, decision)

    return check


FAULT_EFFECTS: dict[Fault, tuple[int, Callable[[GatewayClient, Any], None]]] = {
    # fault: (lookups that use up two injected faults, what each of them sees)
    Fault.RESET: (2, _raises(GatewayUnavailableError, "cannot reach")),
    Fault.HANG: (2, _raises(GatewayTimeoutError, "no answer")),
    Fault.HTTP_500: (2, _raises(GatewayUnavailableError, "HTTP 500")),
    Fault.CODE_100: (2, _answers("100", Decision.RETRY)),
    Fault.CODE_101: (2, _answers("101", Decision.RETRY)),
    Fault.CODE_500: (2, _answers("500", Decision.RETRY)),
    # Refused, new token, refused again: the client gives up (a configuration problem).
    Fault.TOKEN_EXPIRED: (1, _raises(GatewayAuthError, "freshly taken token")),
    Fault.GARBAGE: (2, _raises(GatewayProtocolError, "not UTF-8 JSON")),
    Fault.AUTH_IN_200: (1, _raises(GatewayAuthError, "freshly taken token")),
    Fault.BIG_NUMBER: (2, _raises(GatewayProtocolError, "not UTF-8 JSON")),
    Fault.GZIP_BOMB: (2, _raises(GatewayProtocolError, "more than 65536 bytes")),
    Fault.LOST_ANSWER: (2, _raises(GatewayUnavailableError, "cannot reach")),
}
_RETAKES_TOKEN = (Fault.TOKEN_EXPIRED, Fault.AUTH_IN_200)


@pytest.mark.parametrize("fault", list(Fault), ids=lambda f: f.value)
def test_each_fault_is_served_count_times(
    fault: Fault, dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, cache_ttl_s=0, timeout_s=0.2, breaker_threshold=100)
    query = query_for(dataset.with_outcome("000"))
    client.lookup(query)  # token taken before the faults
    gzip_bomb()  # compressed once, before the short timeout runs
    state = control(gateway.url, {"inject": fault.value, "count": 2, "hang_s": 0.5})
    assert (state["faults_pending"], state["hang_s"]) == ([fault.value] * 2, 0.5)
    lookups, check = FAULT_EFFECTS[fault]
    for _ in range(lookups):
        check(client, query)
    assert client.lookup(query).raw_code == "000"  # then back to normal
    state = control(gateway.url)
    assert (state["faults_pending"], state["stats"]["faults_served"]) == ([], 2)
    assert state["stats"]["token_takes"] == (3 if fault in _RETAKES_TOKEN else 1)


def test_one_expired_token_is_retaken_transparently(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(cache_ttl_s=0)
    query = query_for(dataset.with_outcome("000"))
    client.lookup(query)
    control(gateway.url, {"inject": "401"})
    assert client.lookup(query).raw_code == "000"
    assert control(gateway.url)["stats"]["token_takes"] == 2


def test_expire_tokens_rate_limit_and_clear_faults(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client(attempts=1, cache_ttl_s=0, breaker_threshold=100)
    query = query_for(dataset.with_outcome("000"))
    client.lookup(query)
    assert control(gateway.url, {"expire_tokens": True})["tokens"] == 0
    assert client.lookup(query).raw_code == "000"
    assert control(gateway.url)["stats"]["token_takes"] == 2
    assert control(gateway.url, {"rate_limit": [1, 60]})["rate_limit"] == [1.0, 60.0]
    client.lookup(query)
    with pytest.raises(GatewayUnavailableError) as info:
        client.lookup(query)
    assert info.value.code == "429"
    assert control(gateway.url, {"rate_limit": None})["rate_limit"] is None
    assert client.lookup(query).raw_code == "000"
    control(gateway.url, {"inject": "101", "count": 5})
    assert control(gateway.url, {"clear_faults": True})["faults_pending"] == []
    assert client.lookup(query).raw_code == "000"


BAD_COMMANDS: list[tuple[bytes, str]] = [
    (b"not json", "Expecting value"),
    (b"[1]", "must be a JSON object"),
    (b'"down"', "must be a JSON object"),
    (b'{"speed": 1}', "unknown key(s) speed"),
    (b'{"inject": "meltdown"}', "inject must be one of reset, hang, http500"),
    (b'{"count": 2}', "count goes with inject"),
    (b'{"inject": "reset", "count": 0}', "count must be an integer"),
    (b'{"inject": "reset", "count": true}', "count must be an integer"),
    (b'{"latency": -1}', "latency must be a number"),
    (b'{"latency": "1"}', "latency must be a number"),
    (b'{"hang_s": NaN}', "hang_s must be a number"),
    (b'{"down": "false"}', "down must be true or false"),
    (b'{"down": 1}', "down must be true or false"),
    (b'{"rate_limit": [0, 60]}', "rate_limit must be"),
    (b'{"rate_limit": 5}', "rate_limit must be"),
    (b'{"down": true, "latency": 1, "inject": "meltdown"}', "inject must be one of"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_COMMANDS)
def test_bad_commands_are_refused_and_change_nothing(
    body: bytes, reason: str, gateway: RunningGateway
) -> None:
    request = urllib.request.Request(gateway.url + CONTROL_PATH, data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400
    assert reason in info.value.read().decode()
    assert control(gateway.url) == INITIAL_STATE


def test_control_helper_reports_refusals(gateway: RunningGateway) -> None:
    with pytest.raises(ValueError, match="refused the command: unknown key"):
        control(gateway.url, {"dwn": True})
    with pytest.raises(ValueError, match="refused the command: HTTP 404"):
        control(gateway.url + "/nowhere")
