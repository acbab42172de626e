"""A :class:`kiosk.runner.Runner` on Qt: jobs on a QThreadPool, answers on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot

from kiosk.runner import Outcome

T = TypeVar("T")
WORKERS = 4
"""Card read, BHYT lookup, printing and the admin screen may run at once (all I/O-bound)."""


class _Relay(QObject):
    """Lives on the GUI thread; a queued signal carries callables to it from any thread."""

    deliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._call, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _call(self, callback: Callable[[], None]) -> None:
        callback()


class QtRunner:
    """Create it on the GUI thread."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._relay = _Relay()
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(workers)

    def run(self, job: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        def work() -> None:
            self._relay.deliver.emit(partial(done, Outcome.of(job)))

        self._pool.start(work)

    def post(self, callback: Callable[[], None]) -> None:
        self._relay.deliver.emit(callback)

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Wait for running jobs (shutdown and tests)."""
        return self._pool.waitForDone(timeout_ms)
