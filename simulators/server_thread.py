"""A socketserver serving on a daemon thread, started and stopped as a context manager.

Shared by the simulated BHXH gateway and the simulated HIS (MLLP and FHIR).
"""

from __future__ import annotations

import contextlib
import signal
import socketserver
import threading
from types import TracebackType
from typing import Self

SHUTDOWN_POLL_S = 0.01
"""How often ``serve_forever`` looks for a shutdown request: stops take about 10 ms."""


class Service:
    """Something with ``start``/``stop`` that is also a context manager."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServerThread(Service):
    """Serves ``server`` on a daemon thread named ``name``."""

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(SHUTDOWN_POLL_S,), name=name, daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        """Host and port the server listens on (port 0 at creation picks a free one)."""
        address = self._server.server_address
        if not isinstance(address, tuple):
            raise TypeError("not a TCP server")
        return str(address[0]), int(address[1])

    def start(self) -> Self:
        """Start serving (once; later calls do nothing)."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_until_terminated(service: Service) -> None:
    """Block until SIGTERM or Ctrl-C, then stop the running ``service``."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    service.stop()
