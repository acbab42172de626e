"""A TCP proxy that breaks the network between a client and a real server (issue #7, item 5).

It listens on 127.0.0.1 (a free port by default), forwards to ``upstream`` and, for each
*exchange*, draws a :class:`NetworkFault` from a seeded :class:`FaultMix`. An exchange is a
connection's first request, and then each request a client sends after the server has
answered (a new HTTP/1.1 keep-alive request, a new MLLP message on the same connection): a
pooled connection meets the faults as often as a fresh one would.

Runs an asyncio loop on one daemon thread; bounded: at most ``max_connections`` at once
(more are closed on accept and counted as refused), 64 KiB a read, writes wait for the
peer (no unbounded buffering), upstream connects time out. Start and stop it from tests::

    with ChaosProxy(("127.0.0.1", 2575), FaultMix.of(seed=7, none=6, drop=1, reset=1)) as proxy:
        host, port = proxy.address   # point the client here
        ...
        proxy.set_mix(None)          # calm: pass everything through from now on
        print(proxy.stats())
"""

from __future__ import annotations

import asyncio
import collections
import enum
import random
import socket
import struct
import threading
from dataclasses import dataclass
from types import TracebackType

CHUNK_BYTES = 64 * 1024
HISTORY_LENGTH = 1000
"""How many of the latest draws :meth:`ChaosProxy.stats` lists in order."""
MAX_DELAY_S = 60.0


class NetworkFault(enum.Enum):
    """What happens to one exchange."""

    NONE = "none"
    """Forwarded as it is."""
    DROP = "drop"
    """Accept, then close (FIN) without forwarding anything; on a reused connection the
    request is not forwarded."""
    DELAY = "delay"
    """``delay_s`` before connecting upstream, and before each chunk forwarded either way."""
    RESET = "reset"
    """The request reaches the server; when its answer begins the client gets a TCP RST
    (``SO_LINGER`` 0) instead: the server did the work, the answer is lost."""
    TRUNCATE = "truncate"
    """Only the first N bytes of the answer (N drawn in ``[0, truncate_max]``), then close."""
    BLACKHOLE = "blackhole"
    """Accept and read the request, never forward it, never answer."""
    TRICKLE = "trickle"
    """The answer in pieces of ``trickle_bytes``, ``delay_s`` apart: a slow link that keeps
    every single read short (per-read timeouts never fire)."""


@dataclass(frozen=True)
class FaultMix:
    """Relative ``weights`` of the faults, drawn in turn from ``random.Random(seed)``.

    The sequence of draws is fixed by the seed; which connection gets which draw follows
    the order in which exchanges arrive.
    """

    weights: tuple[tuple[NetworkFault, float], ...]
    seed: int = 0
    delay_s: float = 0.05
    truncate_max: int = 64
    trickle_bytes: int = 1

    def __post_init__(self) -> None:
        if any(w < 0 for _, w in self.weights) or sum(w for _, w in self.weights) <= 0:
            raise ValueError("fault weights must be non-negative with a positive sum")
        if not 0 <= self.delay_s <= MAX_DELAY_S:
            raise ValueError(f"delay_s must be within [0, {MAX_DELAY_S}]")
        if self.truncate_max < 0:
            raise ValueError("truncate_max must not be negative")
        if self.trickle_bytes < 1:
            raise ValueError("trickle_bytes must be at least 1")

    @classmethod
    def of(
        cls,
        seed: int = 0,
        *,
        delay_s: float = 0.05,
        truncate_max: int = 64,
        trickle_bytes: int = 1,
        **weights: float,
    ) -> FaultMix:
        """``FaultMix.of(seed=1, none=6, drop=1, delay=1)``: weights named by fault value."""
        pairs = tuple((NetworkFault(name), weight) for name, weight in weights.items())
        return cls(pairs, seed, delay_s, truncate_max, trickle_bytes)

    @classmethod
    def only(
        cls,
        fault: NetworkFault,
        *,
        delay_s: float = 0.05,
        truncate_max: int = 64,
        trickle_bytes: int = 1,
    ) -> FaultMix:
        """Every exchange gets ``fault``."""
        return cls(((fault, 1.0),), 0, delay_s, truncate_max, trickle_bytes)


@dataclass(frozen=True)
class ChaosStats:
    """What the proxy has done so far."""

    connections: int
    """Connections accepted and served."""
    refused: int
    """Connections closed on accept because ``max_connections`` were open."""
    exchanges: dict[NetworkFault, int]
    """Exchanges per fault drawn (``NONE``: forwarded untouched)."""
    history: tuple[NetworkFault, ...]
    """The latest :data:`HISTORY_LENGTH` draws, oldest first."""

    @property
    def injected(self) -> int:
        """Exchanges that got a fault."""
        return sum(n for fault, n in self.exchanges.items() if fault is not NetworkFault.NONE)


@dataclass(frozen=True)
class _Plan:
    fault: NetworkFault
    delay_s: float = 0.0
    truncate_at: int = 0
    trickle_bytes: int = 1


_CALM = _Plan(NetworkFault.NONE)


class _Close(Exception):  # noqa: N818 - control flow, not an error
    """End the connection now (both sides)."""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: ``SO_LINGER`` on with a zero timeout, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _swallow(reader: asyncio.StreamReader) -> None:
    """Read and discard until the peer closes."""
    while await reader.read(CHUNK_BYTES):
        pass


class _Connection:
    """One proxied connection: two pumps sharing the current exchange's plan."""

    def __init__(
        self,
        proxy: ChaosProxy,
        plan: _Plan,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self._proxy = proxy
        self._plan = plan
        self._client_reader, self._client_writer = client
        self._up_reader, self._up_writer = upstream
        self._answered = False
        self._swallowing = False
        self._truncate_left = plan.truncate_at

    async def run(self) -> None:
        pumps = [
            asyncio.create_task(self._requests()),
            asyncio.create_task(self._answers()),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    def _new_exchange(self) -> None:
        self._plan = self._proxy._draw()
        self._answered = False
        self._truncate_left = self._plan.truncate_at
        if self._plan.fault is NetworkFault.DROP:
            raise _Close
        self._swallowing = self._plan.fault is NetworkFault.BLACKHOLE

    async def _requests(self) -> None:
        """Client → server."""
        while data := await self._client_reader.read(CHUNK_BYTES):
            if self._answered:
                self._new_exchange()
            if self._swallowing:
                continue
            if self._plan.fault is NetworkFault.DELAY:
                await asyncio.sleep(self._plan.delay_s)
            self._up_writer.write(data)
            await self._up_writer.drain()
        if self._up_writer.can_write_eof():
            self._up_writer.write_eof()

    async def _answers(self) -> None:
        """Server → client."""
        while data := await self._up_reader.read(CHUNK_BYTES):
            self._answered = True
            fault = self._plan.fault
            if fault is NetworkFault.RESET:
                _reset(self._client_writer)
                raise _Close
            if fault is NetworkFault.TRUNCATE:
                data = data[: self._truncate_left]
                self._truncate_left -= len(data)
            elif fault is NetworkFault.DELAY:
                await asyncio.sleep(self._plan.delay_s)
            elif fault is NetworkFault.TRICKLE:
                await self._trickle(data)
                continue
            self._client_writer.write(data)
            await self._client_writer.drain()
            if fault is NetworkFault.TRUNCATE and self._truncate_left == 0:
                raise _Close
        if self._client_writer.can_write_eof():
            self._client_writer.write_eof()

    async def _trickle(self, data: bytes) -> None:
        step = self._plan.trickle_bytes
        for start in range(0, len(data), step):
            await asyncio.sleep(self._plan.delay_s)
            self._client_writer.write(data[start : start + step])
            await self._client_writer.drain()


class ChaosProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``, breaking exchanges as ``mix`` says
    (``None``: pass everything through). A context manager; or :meth:`start`/:meth:`stop`."""

    def __init__(
        self,
        upstream: tuple[str, int],
        mix: FaultMix | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = 64,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._upstream = upstream
        self._bind = (host, port)
        self._max_connections = max_connections
        self._connect_timeout = connect_timeout_s
        self._lock = threading.Lock()
        self._mix: FaultMix | None = None
        self._rng = random.Random()
        self._connections = 0
        self._refused = 0
        self._exchanges = dict.fromkeys(NetworkFault, 0)
        self._history: collections.deque[NetworkFault] = collections.deque(maxlen=HISTORY_LENGTH)
        self.set_mix(mix)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="chaos-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect (after :meth:`start`)."""
        if self._address is None:
            raise RuntimeError("the proxy is not started")
        return self._address

    def set_mix(self, mix: FaultMix | None) -> None:
        """Use ``mix`` for the exchanges from now on (its seed restarts the draws);
        ``None`` stops the chaos. Exchanges under way keep their fault."""
        with self._lock:
            self._mix = mix
            self._rng = random.Random(mix.seed if mix is not None else 0)

    def stats(self) -> ChaosStats:
        with self._lock:
            return ChaosStats(
                self._connections, self._refused, dict(self._exchanges), tuple(self._history)
            )

    def _draw(self) -> _Plan:
        """The plan of the next exchange (called on the proxy's loop)."""
        with self._lock:
            mix = self._mix
            if mix is None:
                plan = _CALM
            else:
                faults, weights = zip(*mix.weights, strict=True)
                fault = self._rng.choices(faults, weights)[0]
                cut = (
                    self._rng.randint(0, mix.truncate_max) if fault is NetworkFault.TRUNCATE else 0
                )
                plan = _Plan(fault, mix.delay_s, cut, mix.trickle_bytes)
            self._exchanges[plan.fault] += 1
            self._history.append(plan.fault)
            return plan

    def start(self) -> ChaosProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(10)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the listener and every connection (blackholed ones too), end the thread."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._loop.close()

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._handle, *self._bind)
        host, port = self._server.sockets[0].getsockname()[:2]
        self._address = (str(host), int(port))

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await asyncio.sleep(0)  # let the transports' close callbacks run

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._handlers) >= self._max_connections:
            with self._lock:
                self._refused += 1
            writer.close()
            return
        self._handlers.add(task)
        with self._lock:
            self._connections += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            plan = self._draw()
            if plan.fault is NetworkFault.DROP:
                return
            if plan.fault is NetworkFault.BLACKHOLE:
                await _swallow(reader)
                return
            if plan.fault is NetworkFault.DELAY:
                await asyncio.sleep(plan.delay_s)
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self._upstream), self._connect_timeout
            )
            upstream = up_writer
            await _Connection(self, plan, (reader, writer), (up_reader, up_writer)).run()
        except (OSError, TimeoutError, _Close):
            pass  # a peer gone, the upstream unreachable, or a fault ending the connection
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio's stream callback chokes on a cancelled task)
        finally:
            self._handlers.discard(task)
            for side in (writer, upstream):
                if side is not None and not side.is_closing():
                    side.close()
