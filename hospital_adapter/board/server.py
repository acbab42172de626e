"""Serving the queue board with uvicorn: in a thread (:class:`BoardServer`, tests and demos)
or in the foreground until SIGINT or SIGTERM (:func:`serve`, ``cccd-hospital board``).

Stopping is bounded even with screens connected: the board's event streams end at their
next tick (:meth:`Board.close`), and uvicorn cancels whatever is left after
``GRACEFUL_S``. uvicorn's access log is off (it would log client addresses and query
strings); the board logs method, path and status only.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Generator
from types import FrameType, TracebackType

import uvicorn
from starlette.applications import Starlette

GRACEFUL_S = 2
"""Seconds uvicorn waits for open responses at shutdown before cancelling them."""
STOP_TIMEOUT_S = 5.0
START_TIMEOUT_S = 10.0


def _close_board(app: Starlette) -> None:
    board = getattr(app.state, "board", None)
    if board is not None:
        board.close()


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_S,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
    )


class _Server(uvicorn.Server):
    """uvicorn's server that also ends the board's streams when asked to stop, and returns
    normally after SIGINT or SIGTERM (uvicorn re-raises the signal once it has stopped)."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        _close_board(self._app)
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then stop within a few seconds."""
    sock = _bind(host, port)
    try:
        _Server(_config(app, host, port), app).run(sockets=[sock])
    finally:
        sock.close()


class BoardServer:
    """The board served on ``host`` (127.0.0.1) and ``port`` (0: a free one) in a thread.

    ``with BoardServer(create_board(...)) as server: ... server.url``. Leaving the block
    stops it within :data:`STOP_TIMEOUT_S`, event streams included.
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._sock = _bind(host, port)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._server = _Server(_config(app, host, self.port), app)
        self._thread = threading.Thread(
            target=self._run, name=f"queue-board-{self.port}", daemon=True
        )
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit too: uvicorn exits on a failed start
            self._failure = exc

    def start(self) -> BoardServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the queue board did not start: {self._failure!r}")

    def stop(self) -> None:
        """Stop serving; returns within :data:`STOP_TIMEOUT_S`."""
        _close_board(self.app)
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S - 0.5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(0.5)
        self._sock.close()

    def __enter__(self) -> BoardServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
