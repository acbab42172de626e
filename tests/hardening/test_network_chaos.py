"""Network chaos between the hospital adapter and its peers (issue #7, item 5).

First the :class:`~simulators.chaos_proxy.ChaosProxy` on its own, against an echo server:
each fault does what it says. Then check-ins through two proxies, one in front of the
simulated BHXH gateway and one in front of the simulated HIS (MLLP, then FHIR), with a
seeded mix of drops, delays, resets, truncations and blackholes; then the chaos stops and
the outbox drains. Shown: every check-in gets its ticket within its deadline, the HIS holds
every registration exactly once, and each insurance answer is the gateway's real one or the
degraded "to verify at the counter" mark, never a wrong "insured". ``pytest -s`` prints the
figures that docs/network-chaos.md reports.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hospital_adapter.checkin import COUNTER_NOTE, CheckInResult
from hospital_adapter.config import GatewayAccount, GatewaySettings
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayProtocolError,
    GatewayUnavailableError,
)
from hospital_adapter.gateway import Decision, GatewayClient, InsuranceLookup, LookupQuery
from hospital_adapter.gateway.resilience import BreakerState
from hospital_adapter.his import FhirRegistrar, HisRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.outbox import OutboxWorker, RetrySchedule
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus
from simulators import his as his_sim
from simulators.bhxh_gateway import DEFAULT_ACCOUNTS, Dataset, control, generate_people, serve
from simulators.chaos_proxy import ChaosProxy, ChaosStats, FaultMix, NetworkFault
from tests.hospital.helpers import KEY, identity_of, request_for, wait_until

# --- the proxy on its own -------------------------------------------------------------


class _EchoServer(socketserver.ThreadingTCPServer):
    """Answers every chunk with itself and keeps what it received."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received = bytearray()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _EchoHandler)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: the proxy resets and drops connections on purpose."""


class _EchoHandler(socketserver.BaseRequestHandler):
    server: _EchoServer

    def handle(self) -> None:
        while data := self.request.recv(65536):
            with self.server.lock:
                self.server.received += data
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[_EchoServer]:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _ask(sock: socket.socket, payload: bytes, timeout_s: float = 1.0) -> tuple[str, bytes]:
    """Send ``payload``, read the echo: (``answer``|``closed``|``reset``|``timeout``, bytes)."""
    sock.settimeout(timeout_s)
    got = b""
    try:
        sock.sendall(payload)
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                return "closed", got
            got += chunk
    except (ConnectionResetError, BrokenPipeError):
        return "reset", got
    except TimeoutError:
        return "timeout", got
    return "answer", got


def _connect(proxy: ChaosProxy) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=2.0)


def test_calm_proxy_forwards_both_ways(echo: _EchoServer) -> None:
    with ChaosProxy(echo.address) as proxy, _connect(proxy) as sock:
        assert _ask(sock, b"ping") == ("answer", b"ping")
        assert _ask(sock, b"pong" * 40_000) == ("answer", b"pong" * 40_000)
        assert proxy.stats().exchanges[NetworkFault.NONE] == 2
        assert (proxy.stats().connections, proxy.stats().injected) == (1, 0)


def test_drop_closes_without_forwarding(echo: _EchoServer) -> None:
    with ChaosProxy(echo.address, FaultMix.only(NetworkFault.DROP)) as proxy:
        with _connect(proxy) as sock:
            sock.settimeout(1.0)
            assert sock.recv(10) == b""  # FIN, not a timeout
        assert proxy.stats().exchanges[NetworkFault.DROP] == 1
    assert echo.received == b""


def test_reset_after_the_server_got_the_request(echo: _EchoServer) -> None:
    with (
        ChaosProxy(echo.address, FaultMix.only(NetworkFault.RESET)) as proxy,
        _connect(proxy) as sock,
    ):
        assert _ask(sock, b"hello") == ("reset", b"")
    assert echo.received == b"hello"  # the work was done, the answer lost


def test_truncate_forwards_a_prefix_then_closes(echo: _EchoServer) -> None:
    payload = bytes(range(64))
    lengths = set()
    with ChaosProxy(echo.address, FaultMix.only(NetworkFault.TRUNCATE, truncate_max=10)) as proxy:
        for _ in range(15):
            with _connect(proxy) as sock:
                outcome, got = _ask(sock, payload)
            assert (outcome, got) == ("closed", payload[: len(got)])
            lengths.add(len(got))
    assert max(lengths) <= 10
    assert len(lengths) > 1  # N is drawn per exchange


def test_blackhole_never_answers_until_stopped(echo: _EchoServer) -> None:
    proxy = ChaosProxy(echo.address, FaultMix.only(NetworkFault.BLACKHOLE)).start()
    with _connect(proxy) as sock:
        assert _ask(sock, b"anyone?", timeout_s=0.3) == ("timeout", b"")
        proxy.stop()
        sock.settimeout(1.0)
        assert sock.recv(10) == b""  # stopping closes held connections
    assert echo.received == b""


def test_delay_before_connect_and_per_chunk(echo: _EchoServer) -> None:
    with ChaosProxy(echo.address, FaultMix.only(NetworkFault.DELAY, delay_s=0.1)) as proxy:
        start = time.monotonic()
        with _connect(proxy) as sock:
            assert _ask(sock, b"slow", timeout_s=2.0) == ("answer", b"slow")
        elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 1.5  # connect, request chunk, answer chunk: 0.1 s each


def test_trickle_sends_the_answer_in_small_pieces(echo: _EchoServer) -> None:
    mix = FaultMix.only(NetworkFault.TRICKLE, delay_s=0.02, trickle_bytes=3)
    with ChaosProxy(echo.address, mix) as proxy, _connect(proxy) as sock:
        sock.sendall(b"0123456789")
        sock.settimeout(1.0)
        pieces = [sock.recv(100) for _ in range(4)]
    assert pieces == [b"012", b"345", b"678", b"9"]


def test_faults_are_drawn_per_exchange_on_a_kept_connection(echo: _EchoServer) -> None:
    with ChaosProxy(echo.address) as proxy, _connect(proxy) as sock:
        assert _ask(sock, b"first") == ("answer", b"first")
        proxy.set_mix(FaultMix.only(NetworkFault.RESET))
        assert _ask(sock, b"second") == ("reset", b"")
        stats = proxy.stats()
    assert stats.connections == 1
    assert stats.history == (NetworkFault.NONE, NetworkFault.RESET)
    assert echo.received == b"firstsecond"


_EXPECTED_OUTCOME = {
    NetworkFault.NONE: {"answer"},
    NetworkFault.DELAY: {"answer"},
    NetworkFault.DROP: {"closed", "reset"},  # a RST when the request was already buffered
    NetworkFault.RESET: {"reset"},
    NetworkFault.TRUNCATE: {"closed"},
}


def _seeded_session(address: tuple[str, int], seed: int) -> tuple[list[str], ChaosStats]:
    mix = FaultMix.of(seed, delay_s=0.01, none=4, drop=1, delay=1, reset=1, truncate=1)
    outcomes = []
    with ChaosProxy(address, mix) as proxy:
        for _ in range(30):
            with _connect(proxy) as sock:
                outcomes.append(_ask(sock, b"x" * 100)[0])
        return outcomes, proxy.stats()


def test_seeded_mix_repeats_and_each_draw_is_applied(echo: _EchoServer) -> None:
    outcomes, stats = _seeded_session(echo.address, seed=5)
    stats_again = _seeded_session(echo.address, seed=5)[1]
    other = _seeded_session(echo.address, seed=6)[1]
    assert stats.history == stats_again.history != other.history
    assert len(stats.history) == 30
    assert set(stats.history) == set(_EXPECTED_OUTCOME)
    for fault, outcome in zip(stats.history, outcomes, strict=True):
        assert outcome in _EXPECTED_OUTCOME[fault], fault
    assert sum(stats.exchanges.values()) == 30
    assert stats.injected == 30 - stats.exchanges[NetworkFault.NONE]


def test_connections_beyond_the_limit_are_closed(echo: _EchoServer) -> None:
    mix = FaultMix.only(NetworkFault.BLACKHOLE)
    with ChaosProxy(echo.address, mix, max_connections=2) as proxy:
        held = [_connect(proxy) for _ in range(2)]
        for sock in held:
            assert _ask(sock, b"?", timeout_s=0.2)[0] == "timeout"  # both are being served
        with _connect(proxy) as extra:
            extra.settimeout(1.0)
            assert extra.recv(10) == b""
        assert (proxy.stats().connections, proxy.stats().refused) == (2, 1)
        for sock in held:
            sock.close()


def test_bad_mixes_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultMix.of(none=0)
    with pytest.raises(ValueError):
        FaultMix.of(drop=-1, none=2)
    with pytest.raises(ValueError):
        FaultMix.of(none=1, delay_s=-0.1)
    with pytest.raises(ValueError):
        FaultMix.of(bogus=1)
    with pytest.raises(ValueError):
        FaultMix.of(trickle=1, trickle_bytes=0)


# --- the gateway client's circuit breaker meets a garbled or refusing gateway ------------


def _state(client: GatewayClient) -> BreakerState:
    """The breaker's state, read afresh (a plain attribute read would be narrowed by mypy)."""
    return client.breaker.state


@pytest.mark.parametrize(
    ("fault", "error", "after"),
    [
        ("garbage", GatewayProtocolError, BreakerState.OPEN),  # a maintenance page: still down
        ("401", GatewayAuthError, BreakerState.CLOSED),  # refused twice: up, but misconfigured
    ],
)
def test_a_half_open_trial_that_gets_an_odd_answer_does_not_wedge_the_breaker(
    fault: str, error: type[GatewayError], after: BreakerState
) -> None:
    """The trial call after ``breaker_reset_s`` meets a garbled answer or a refused token:
    the breaker must decide (open again, or close) rather than refuse every later call with
    "next try in 0.0 s" until the kiosk restarts."""
    dataset = Dataset.generated()
    query = LookupQuery.for_identity(identity_of(dataset.records[0].person))
    with serve(dataset) as gateway:
        settings = replace(
            GATEWAY, url=gateway.url, attempts=1, breaker_threshold=1, breaker_reset_s=0.1
        )
        with GatewayClient(settings, ACCOUNT) as client:
            control(gateway.url, {"inject": "http500"})
            with pytest.raises(GatewayUnavailableError):
                client.lookup(query)
            assert _state(client) is BreakerState.OPEN
            time.sleep(0.15)
            control(gateway.url, {"inject": fault, "count": 2})
            with pytest.raises(error):
                client.lookup(query)
            assert _state(client) is after
            time.sleep(0.15)
            control(gateway.url, {"clear_faults": True})
            assert client.lookup(query).raw_code == "000"
            assert _state(client) is BreakerState.CLOSED


# --- check-ins through chaos ----------------------------------------------------------

CHECK_INS = 60
DEADLINE_S = 2.0
MARGIN_S = 0.25
"""check_in may pass its deadline by one local SQLite transaction (docs/hospital_adapter.md)."""
DRAIN_LIMIT_S = 30.0
CHAOS_WEIGHTS = {"none": 50, "drop": 10, "delay": 15, "reset": 10, "truncate": 10, "blackhole": 5}
CHAOS_DELAY_S = 0.1
ACCOUNT = GatewayAccount("kiosk", DEFAULT_ACCOUNTS["kiosk"], "Trần Thị Bình", "079190000001")
GATEWAY = GatewaySettings(
    timeout_s=2.0, attempts=3, backoff_s=0.05, cache_ttl_s=0, breaker_threshold=5,
    breaker_reset_s=1.0,
)  # fmt: skip
HIS_TIMEOUT_S = 1.0
FAST_RETRIES = RetrySchedule(base=timedelta(milliseconds=50), cap=timedelta(milliseconds=400))


@dataclass(frozen=True)
class ChaosRun:
    """What one run measured."""

    results: list[CheckInResult]
    call_s: list[float]
    drain_s: float
    gateway: ChaosStats
    his: ChaosStats
    his_duplicates: int

    def summary(self, kind: str) -> str:
        gateway, his = self.gateway.exchanges, self.his.exchanges
        per_kind = ", ".join(
            f"{name} {gateway[NetworkFault(name)]}+{his[NetworkFault(name)]}"
            for name in CHAOS_WEIGHTS
        )
        p95 = statistics.quantiles(self.call_s, n=20)[-1]
        degraded = sum(r.insurance_code == "" for r in self.results)
        verified = sum(r.insurance is InsuranceStatus.VERIFIED for r in self.results)
        queued = sum(r.registration.value == "queued" for r in self.results)
        return (
            f"{kind}: {len(self.results)} check-ins; exchanges gateway+HIS: {per_kind}"
            f" (gateway {self.gateway.injected} faults, HIS {self.his.injected});"
            f" call max {max(self.call_s):.3f} s, p95 {p95:.3f} s,"
            f" median {statistics.median(self.call_s):.3f} s"
            f" (deadline {DEADLINE_S} s); insurance verified {verified}, other real answers"
            f" {len(self.results) - verified - degraded}, degraded {degraded}; queued {queued};"
            f" drained in {self.drain_s:.2f} s; HIS resends absorbed {self.his_duplicates}"
        )


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _oracle(url: str, dataset: Dataset) -> dict[str, InsuranceLookup]:
    """Each person's real answer, asked straight (no proxy) before the chaos."""
    with GatewayClient(GatewaySettings(url=url, cache_ttl_s=0), ACCOUNT) as client:
        return {
            r.person.id_number: client.lookup(LookupQuery.for_identity(identity_of(r.person)))
            for r in dataset.records
        }


def _registrar(kind: str, his: his_sim.RunningHis, stack: contextlib.ExitStack) -> tuple[
    HisRegistrar, ChaosProxy
]:  # fmt: skip
    mix = FaultMix.of(seed=11, delay_s=CHAOS_DELAY_S, **CHAOS_WEIGHTS)
    if kind == "mllp":
        proxy = stack.enter_context(ChaosProxy(his.mllp.address, mix))
        header = MessageHeader("KIOSK", "79024", "HIS", "79024")
        return MllpRegistrar(*proxy.address, header, timeout_s=HIS_TIMEOUT_S), proxy
    proxy = stack.enter_context(ChaosProxy(_address(his.fhir.url), mix))
    host, port = proxy.address
    registrar = FhirRegistrar(f"http://{host}:{port}/fhir", timeout_s=HIS_TIMEOUT_S)
    stack.callback(registrar.close)
    return registrar, proxy


def _chaos_run(kind: str, tmp_path: Path) -> None:
    """Check-ins through chaos, then calm and drain; check what the HIS and store hold."""
    dataset = Dataset.from_people(generate_people(CHECK_INS, seed=77))
    with contextlib.ExitStack() as stack:
        gateway = stack.enter_context(serve(dataset))
        his = stack.enter_context(his_sim.serve())
        oracle = _oracle(gateway.url, dataset)
        gateway_mix = FaultMix.of(seed=7, delay_s=CHAOS_DELAY_S, **CHAOS_WEIGHTS)
        gateway_proxy = stack.enter_context(ChaosProxy(_address(gateway.url), gateway_mix))
        host, port = gateway_proxy.address
        client = GatewayClient(replace(GATEWAY, url=f"http://{host}:{port}"), ACCOUNT)
        stack.callback(client.close)
        registrar, his_proxy = _registrar(kind, his, stack)
        store = Store(tmp_path / f"{kind}.sqlite3", KEY)
        worker = OutboxWorker(
            store, registrar, schedule=FAST_RETRIES, send_timeout_s=HIS_TIMEOUT_S,
            lease=timedelta(seconds=5),
        )  # fmt: skip
        service = CheckInService(client, registrar, store, outbox=worker)
        outbox = stack.enter_context(worker.start(interval_s=0.05))
        results, call_s = [], []
        for record in dataset.records:
            start = time.monotonic()
            results.append(service.check_in(request_for(record), Deadline.after(DEADLINE_S)))
            call_s.append(time.monotonic() - start)
        gateway_proxy.set_mix(None)
        his_proxy.set_mix(None)
        calm = time.monotonic()
        assert wait_until(lambda: store.outbox_counts()["pending"] == 0, DRAIN_LIMIT_S, 0.02)
        drain_s = time.monotonic() - calm
        assert outbox.stop(2.0)
        run = ChaosRun(
            results, call_s, drain_s, gateway_proxy.stats(), his_proxy.stats(), his.state.duplicates
        )
    _check(run, kind, store, his, dataset, oracle)
    print(run.summary(kind))


def _check(
    run: ChaosRun,
    kind: str,
    store: Store,
    his: his_sim.RunningHis,
    dataset: Dataset,
    oracle: dict[str, InsuranceLookup],
) -> None:
    # Every check-in got a ticket, in time.
    assert sorted(r.ticket for r in run.results) == list(range(1, CHECK_INS + 1))
    assert max(run.call_s) <= DEADLINE_S + MARGIN_S
    # The chaos happened: every kind of fault, some degraded check-ins, some queued ones.
    faults = Counter(run.gateway.exchanges) + Counter(run.his.exchanges)
    assert all(faults[NetworkFault(name)] > 0 for name in CHAOS_WEIGHTS)
    assert any(r.insurance_code == "" for r in run.results)
    assert any(r.registration.value == "queued" for r in run.results)
    # Everything delivered; the HIS has every registration exactly once.
    assert store.outbox_counts() == {"pending": 0, "delivered": CHECK_INS, "rejected": 0}
    visits = [store.visit(r.checkin_id) for r in run.results]
    keys = {v.message_id if kind == "mllp" else v.checkin_id: v for v in visits}
    assert len(keys) == CHECK_INS
    assert his.state.registrations.keys() == keys.keys()
    if kind == "fhir":
        assert his.fhir.store.count("Encounter") == CHECK_INS
        assert his.fhir.store.count("Patient") == len(dataset.records)
    # Insurance: the real answer, or the degraded mark; the HIS was told the same.
    for result, visit in zip(run.results, visits, strict=True):
        truth = oracle[visit.identity.id_number]
        registered = his.state.registrations[
            visit.message_id if kind == "mllp" else visit.checkin_id
        ]
        assert registered.id_number == visit.identity.id_number
        if result.insurance is InsuranceStatus.VERIFIED:
            assert truth.decision is Decision.INSURED
            assert (result.insurance_code, visit.coverage) == (truth.raw_code, truth.card)
            assert truth.card is not None
            assert (registered.insured, registered.card_number) == (True, truth.card.card_number)
        else:
            assert result.insurance is InsuranceStatus.TO_VERIFY_AT_COUNTER
            assert result.counter_note == COUNTER_NOTE
            assert result.insurance_code in ("", truth.raw_code)
            assert result.insurance_code == "" or truth.decision is not Decision.INSURED
            assert (registered.insured, registered.card_number, visit.coverage) == (False, "", None)


@pytest.mark.parametrize("kind", ["mllp", "fhir"])
def test_check_ins_through_chaos_are_timely_and_registered_exactly_once(
    kind: str, tmp_path: Path
) -> None:
    _chaos_run(kind, tmp_path)


# --- a trickling peer: each read is quick, the whole answer is slow ---------------------

TRICKLE_DEADLINE_S = 1.5


@pytest.mark.parametrize(("trickled", "trickle_bytes"), [("mllp", 4), ("gateway", 8), ("fhir", 8)])
def test_a_trickling_peer_does_not_hold_the_check_in_past_its_deadline(
    trickled: str, trickle_bytes: int, tmp_path: Path
) -> None:
    """One peer answers a few bytes every 50 ms (a few seconds for the whole answer)."""
    dataset = Dataset.generated()
    mix = FaultMix.only(NetworkFault.TRICKLE, delay_s=0.05, trickle_bytes=trickle_bytes)
    with contextlib.ExitStack() as stack:
        gateway = stack.enter_context(serve(dataset))
        his = stack.enter_context(his_sim.serve())
        gateway_address = _address(gateway.url)
        if trickled == "gateway":
            gateway_address = stack.enter_context(ChaosProxy(gateway_address, mix)).address
        client = stack.enter_context(
            GatewayClient(replace(GATEWAY, url="http://{}:{}".format(*gateway_address)), ACCOUNT)
        )
        his_kind = "fhir" if trickled == "fhir" else "mllp"
        registrar, proxy = _registrar(his_kind, his, stack)
        proxy.set_mix(mix if trickled in ("mllp", "fhir") else None)
        store = stack.enter_context(contextlib.closing(Store(tmp_path / "trickle.sqlite3", KEY)))
        service = CheckInService(client, registrar, store)
        start = time.monotonic()
        result = service.check_in(
            request_for(dataset.with_outcome("000")), Deadline.after(TRICKLE_DEADLINE_S)
        )
        elapsed = time.monotonic() - start
    print(f"trickling {trickled}: check_in took {elapsed:.2f} s (deadline {TRICKLE_DEADLINE_S} s)")
    assert result.ticket == 1
    assert elapsed <= TRICKLE_DEADLINE_S + MARGIN_S
