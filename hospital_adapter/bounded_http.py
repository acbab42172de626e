"""HTTP requests bounded as a whole by the caller's :class:`Deadline` (gateway and FHIR).

httpx's timeouts bound each connect, write and read, not the request (httpx issue #1450):
a peer that sends a few bytes every 50 ms keeps every read short and holds the call for as
long as it keeps dripping, headers included. Two layers close that gap:

- :class:`DeadlineTransport`, the clients' default transport: httpcore's connection pool
  over a network backend that caps every connect, TLS handshake, write and read by the
  time left until the deadline of the call under way (a context variable, so per thread)
  and fails with a timeout once it has passed.
- :func:`post_within`: sends with httpx's streaming API, timeouts set to the time left,
  reads the raw body chunk by chunk checking the deadline between chunks (this also bounds
  a transport injected for tests) and decodes it itself (``gzip``, ``deflate`` or none),
  stopping once the decoded body passes the peer's ``max_bytes``: a small compressed body
  that inflates to megabytes never does (httpx's own decoder inflates each chunk whole).
  Every failure becomes one of the package's errors; the response is closed on the way out.

Limit: an HTTP proxy taken from the environment (``HTTP_PROXY``...) is served by httpx's
own transport, whose single reads only the timeouts bound (the body checks still apply).
"""

from __future__ import annotations

import ssl
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HospitalAdapterError

MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20
KEEPALIVE_EXPIRY_S = 5.0
"""Pool limits (httpx's defaults)."""

_CALL_DEADLINE: ContextVar[Deadline | None] = ContextVar("bounded_http_deadline", default=None)


@dataclass(frozen=True)
class HttpPeer:
    """A server the adapter talks to: its name in error messages, the largest answer
    accepted, and which of the package's errors to raise for it."""

    name: str
    max_bytes: int
    timeout_error: type[HospitalAdapterError]
    """No complete answer by the deadline."""
    unreachable_error: type[HospitalAdapterError]
    """Connection refused, reset, closed early, or a broken HTTP exchange."""
    protocol_error: type[HospitalAdapterError]
    """An answer longer than ``max_bytes`` or with an undecodable content encoding."""


ACCEPT_ENCODING = "gzip, deflate"
"""The encodings :class:`_BoundedDecoder` reads (RFC 9110 §8.4.1); nothing else is asked for."""


class _BoundedDecoder:
    """Decodes a ``Content-Encoding`` of ``gzip``, ``deflate`` (zlib) or none, never
    producing more than the room it is given (zlib's ``max_length``)."""

    def __init__(self, encoding: str, peer: HttpPeer) -> None:
        self._peer = peer
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self._inflate = None
        elif name in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._inflate = zlib.decompressobj()
        else:
            raise peer.protocol_error(f"{peer.name} sent an unsupported content encoding")

    def decode(self, chunk: bytes, room: int) -> bytes:
        """``chunk`` decoded: at most ``room + 1`` bytes, so the caller sees an overflow."""
        if self._inflate is None:
            return chunk
        try:
            return self._inflate.decompress(chunk, room + 1)
        except zlib.error:
            raise self._peer.protocol_error(f"{self._peer.name} sent an undecodable body") from None

    def finish(self) -> None:
        """Raise unless a compressed body ended where its stream ends."""
        if self._inflate is not None and not self._inflate.eof:
            raise self._peer.protocol_error(f"{self._peer.name} sent a truncated compressed body")


@dataclass(frozen=True)
class HttpAnswer:
    """A whole answer, read within the deadline: status and (decoded) body."""

    status_code: int
    content: bytes


def post_within(
    client: httpx.Client,
    peer: HttpPeer,
    url: str,
    deadline: Deadline,
    timeout_s: float,
    *,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """POST to ``url`` and read the whole answer by ``deadline`` and within ``timeout_s``.

    Raises ``peer.timeout_error`` when the time runs out (before sending too),
    ``peer.unreachable_error`` for transport failures and ``peer.protocol_error`` for an
    answer whose decoded body is over ``peer.max_bytes`` or cannot be decoded; never an
    httpx exception. Memory stays within ``max_bytes`` plus one network read.
    """
    budget = deadline.within(timeout_s)
    allowed = budget.remaining()
    if allowed <= 0:
        raise peer.timeout_error(f"deadline passed before sending to {peer.name}")
    late = f"no answer from {peer.name} in time ({allowed:.1f} s)"
    token = _CALL_DEADLINE.set(budget)
    try:
        with client.stream(
            "POST",
            url,
            params=params,
            data=data,
            json=json,
            headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
            timeout=httpx.Timeout(allowed),
        ) as response:
            decoder = _BoundedDecoder(response.headers.get("Content-Encoding", ""), peer)
            body = bytearray()
            for chunk in response.iter_raw():
                if budget.expired:
                    raise peer.timeout_error(late)
                body += decoder.decode(chunk, peer.max_bytes - len(body))
                if len(body) > peer.max_bytes:
                    raise peer.protocol_error(
                        f"{peer.name} answered more than {peer.max_bytes} bytes"
                    )
            decoder.finish()
            return HttpAnswer(response.status_code, bytes(body))
    except httpx.TimeoutException:
        raise peer.timeout_error(late) from None
    except httpx.TransportError as exc:
        raise peer.unreachable_error(f"cannot reach {peer.name}: {type(exc).__name__}") from None
    finally:
        _CALL_DEADLINE.reset(token)


def _capped(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` shortened to the current call's time left; ``expired`` once none is left."""
    deadline = _CALL_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired("deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every I/O wait ends by the current call's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        capped = _capped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, capped))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, its connections wrapped in :class:`_DeadlineStream`."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        capped = _capped(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, capped, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        capped = _capped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, capped, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)
"""httpcore's errors and httpx's matching ones, most specific first."""


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as httpx's (what users of an httpx transport catch)."""
    try:
        yield
    except (
        httpcore.TimeoutException,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
    ) as exc:
        mapped = next((to for core, to in _HTTPX_ERRORS if isinstance(exc, core)), None)
        raise (mapped or httpx.TransportError)(str(exc)) from exc


class _Body(httpx.SyncByteStream):
    """The answer's body as httpcore reads it, with httpx's errors."""

    def __init__(self, parts: Iterable[bytes]) -> None:
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._parts

    def close(self) -> None:
        close = getattr(self._parts, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport (HTTP/1.1, TLS verified as httpx does by default) whose
    connects, writes and reads all end by the deadline :func:`post_within` is running under.
    Outside such a call it behaves like httpx's own transport: per-operation timeouts."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("DeadlineTransport serves synchronous requests only")
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = self._pool.handle_request(core_request)
        if not isinstance(answer.stream, Iterable):
            raise TypeError("httpcore returned an asynchronous body")
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        with _as_httpx_errors():
            self._pool.close()
