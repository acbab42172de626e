"""HTTP calls bounded as a whole by the deadline (hospital_adapter.bounded_http).

A scripted HTTP/1.1 server on 127.0.0.1 answers by path: normally, trickling its headers a
byte at a time, trickling the body then stalling, or sending an endless body. httpx alone
bounds each read only (httpx issue #1450); these check that the whole call ends by the
deadline, with the package's errors, and that both clients (gateway, FHIR) rely on it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from hospital_adapter.bounded_http import DeadlineTransport, HttpAnswer, HttpPeer, post_within
from hospital_adapter.config import GatewaySettings
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import GatewayTimeoutError, HisUnavailableError, HospitalAdapterError
from hospital_adapter.gateway import GatewayClient
from hospital_adapter.his import FhirRegistrar
from simulators import his as his_sim
from simulators.bhxh_gateway import Dataset, serve
from simulators.chaos_proxy import ChaosProxy, FaultMix, NetworkFault

from .conftest import ACCOUNT, query_for
from .helpers import free_port, sample_visit

MARGIN_S = 0.15
"""Scheduling slack allowed past a deadline (one trickled piece is 20-50 ms)."""


class _LateError(HospitalAdapterError):
    pass


class _UnreachableError(HospitalAdapterError):
    pass


class _GarbledError(HospitalAdapterError):
    pass


PEER = HttpPeer("the test server", 1000, _LateError, _UnreachableError, _GarbledError)
BODY = b'{"ok": true}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


class _ScriptedServer:
    """Answers each request by its path; counts connections and requests."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while path := self._read_request(conn):
                    self.requests.append(path)
                    getattr(self, "_" + path.strip("/"))(conn)
            except OSError:
                return

    @staticmethod
    def _read_request(conn: socket.socket) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return ""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
                b"content-length:"
            )),
            0,
        )  # fmt: skip
        while len(body) < length:
            body += conn.recv(65536)
        return head.split()[1].decode()

    def _ok(self, conn: socket.socket) -> None:
        conn.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)

    def _trickle_headers(self, conn: socket.socket) -> None:
        """A header one byte every 20 ms for 3 s, then the rest of the answer."""
        conn.sendall(HEAD + b"X-Padding: ")
        for _ in range(150):
            if self._stop.wait(0.02):
                return
            conn.sendall(b"a")
        conn.sendall(b"\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)

    def _trickle_then_stall(self, conn: socket.socket) -> None:
        """The headers, then the body a byte every 20 ms for 0.4 s, then silence."""
        conn.sendall(HEAD + b"Content-Length: 1000\r\n\r\n")
        for _ in range(20):
            time.sleep(0.02)
            conn.sendall(b"x")
        self._stop.wait(10)

    def _endless(self, conn: socket.socket) -> None:
        conn.sendall(HEAD + b"Content-Length: 100000000\r\n\r\n")
        while not self._stop.is_set():
            conn.sendall(b"x" * 4096)

    def _close_early(self, conn: socket.socket) -> None:
        conn.sendall(HEAD + b"Content-Length: 100\r\n\r\nshort")
        conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server() -> Iterator[_ScriptedServer]:
    running = _ScriptedServer()
    yield running
    running.close()


@pytest.fixture
def client(server: _ScriptedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, transport=DeadlineTransport()) as opened:
        yield opened


def _timed_failure(
    client: httpx.Client, path: str, deadline: Deadline, timeout_s: float = 30.0
) -> tuple[HospitalAdapterError, float]:
    start = time.monotonic()
    with pytest.raises(HospitalAdapterError) as info:
        post_within(client, PEER, path, deadline, timeout_s, json={"a": 1})
    return info.value, time.monotonic() - start


def test_a_whole_answer_and_a_kept_connection(
    server: _ScriptedServer, client: httpx.Client
) -> None:
    for _ in range(3):
        answer = post_within(client, PEER, "/ok", Deadline.after(5), 5.0, data={"k": "v"})
        assert answer == HttpAnswer(200, BODY)
    assert client.post("/ok").content == BODY  # outside post_within: a plain transport
    assert (server.connections, server.requests) == (1, ["/ok"] * 4)


def test_trickled_headers_end_at_the_deadline(client: httpx.Client) -> None:
    error, elapsed = _timed_failure(client, "/trickle_headers", Deadline.after(0.4))
    assert type(error) is _LateError
    assert str(error) == "no answer from the test server in time (0.4 s)"
    assert 0.35 <= elapsed <= 0.4 + MARGIN_S


def test_a_stall_after_a_trickle_ends_at_the_deadline_not_a_read_timeout_later(
    client: httpx.Client,
) -> None:
    """Reads capped by what is left: a read timeout set at the start (0.6 s) would end
    this call about 0.6 s after the last byte (at 0.4 s), near 1.0 s."""
    error, elapsed = _timed_failure(client, "/trickle_then_stall", Deadline.after(0.6))
    assert type(error) is _LateError
    assert 0.55 <= elapsed <= 0.6 + MARGIN_S


def test_timeout_s_bounds_the_whole_call_under_a_far_deadline(client: httpx.Client) -> None:
    error, elapsed = _timed_failure(client, "/trickle_headers", Deadline.after(60), 0.3)
    assert type(error) is _LateError
    assert 0.25 <= elapsed <= 0.3 + MARGIN_S


def test_an_answer_over_max_bytes_is_refused_without_reading_on(client: httpx.Client) -> None:
    error, elapsed = _timed_failure(client, "/endless", Deadline.after(5))
    assert type(error) is _GarbledError
    assert str(error) == "the test server answered more than 1000 bytes"
    assert elapsed < 1.0


def test_transport_failures(server: _ScriptedServer, client: httpx.Client) -> None:
    error, _ = _timed_failure(client, "/close_early", Deadline.after(5))
    assert (type(error), str(error)) == (
        _UnreachableError,
        "cannot reach the test server: RemoteProtocolError",
    )
    url = f"http://127.0.0.1:{free_port()}"
    with httpx.Client(base_url=url, transport=DeadlineTransport()) as refused:
        error, _ = _timed_failure(refused, "/ok", Deadline.after(5))
    assert type(error) is _UnreachableError
    assert str(error) == "cannot reach the test server: ConnectError"


def test_a_passed_deadline_sends_nothing(server: _ScriptedServer, client: httpx.Client) -> None:
    error, _ = _timed_failure(client, "/ok", Deadline.after(-1))
    assert type(error) is _LateError
    assert str(error) == "deadline passed before sending to the test server"
    assert server.connections == 0


def test_the_connection_of_a_call_cut_short_is_not_reused(
    server: _ScriptedServer, client: httpx.Client
) -> None:
    _timed_failure(client, "/trickle_then_stall", Deadline.after(0.1))
    assert post_within(client, PEER, "/ok", Deadline.after(5), 5.0).content == BODY
    assert server.connections == 2


def test_an_injected_transport_is_still_bounded_between_chunks() -> None:
    def slow_body() -> Iterator[bytes]:
        while True:
            time.sleep(0.02)
            yield b"x"

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=slow_body()))
    with httpx.Client(base_url="http://kiosk.test", transport=transport) as mocked:
        error, elapsed = _timed_failure(mocked, "/", Deadline.after(0.3))
    assert type(error) is _LateError
    assert 0.25 <= elapsed <= 0.3 + MARGIN_S


# --- both clients, behind a proxy trickling 8 bytes every 50 ms -------------------------

TRICKLE = FaultMix.only(NetworkFault.TRICKLE, delay_s=0.05, trickle_bytes=8)


def test_the_gateway_client_ends_a_trickled_lookup_at_the_deadline() -> None:
    dataset = Dataset.generated()
    with serve(dataset) as gateway:
        host, port = gateway.url.removeprefix("http://").split(":")
        with ChaosProxy((host, int(port)), TRICKLE) as proxy:
            settings = replace(GatewaySettings(), url="http://{}:{}".format(*proxy.address))
            with GatewayClient(replace(settings, timeout_s=30.0, cache_ttl_s=0), ACCOUNT) as gc:
                start = time.monotonic()
                with pytest.raises(GatewayTimeoutError, match="no answer from the gateway"):
                    gc.lookup(query_for(dataset.with_outcome("000")), Deadline.after(0.5))
                elapsed = time.monotonic() - start
    assert 0.45 <= elapsed <= 0.5 + MARGIN_S


def test_the_fhir_registrar_ends_a_trickled_answer_at_the_deadline() -> None:
    with his_sim.serve() as his:
        host, port = his.fhir.url.removeprefix("http://").split("/")[0].split(":")
        with ChaosProxy((host, int(port)), TRICKLE) as proxy:
            registrar = FhirRegistrar("http://{}:{}/fhir".format(*proxy.address), timeout_s=30.0)
            start = time.monotonic()
            with pytest.raises(HisUnavailableError, match="no answer from the FHIR server"):
                registrar.register(sample_visit(), Deadline.after(0.5))
            elapsed = time.monotonic() - start
            registrar.close()
        assert len(his.state.registrations) == 1  # it was registered; the answer came late
    assert 0.45 <= elapsed <= 0.5 + MARGIN_S
