"""Running blocking work off the owner's thread and getting the answer back on it.

The flow calls :meth:`Runner.run` for every card, network and printer operation and
:meth:`Runner.post` for callbacks a worker makes; both deliver on the thread that owns the
flow (the GUI thread under Qt, see :mod:`kiosk.qt.runner`). :class:`ThreadRunner` is the
plain-Python runner: worker threads, and a queue the owner drains.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

_log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A job's result: ``value``, or the exception it raised in ``error``."""

    value: T | None = None
    error: BaseException | None = None

    @classmethod
    def of(cls, job: Callable[[], T]) -> Outcome[T]:
        try:
            return cls(value=job())
        except Exception as exc:
            return cls(error=exc)

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Runner(Protocol):
    def run(self, job: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        """Run ``job`` on a worker thread; call ``done`` with its outcome on the owner thread."""

    def post(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the owner thread (from any thread)."""


class ThreadRunner:
    """Worker threads plus a callback queue; the owner calls :meth:`drain` to deliver."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kiosk-job")
        self._callbacks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._busy = 0
        self._lock = threading.Lock()

    def run(self, job: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        with self._lock:
            self._busy += 1

        def work() -> None:
            outcome = Outcome.of(job)
            with self._lock:
                self._busy -= 1
            self.post(lambda: done(outcome))

        self._pool.submit(work)

    def post(self, callback: Callable[[], None]) -> None:
        self._callbacks.put(callback)

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._busy == 0 and self._callbacks.empty()

    def drain(self, timeout: float = 0.0) -> int:
        """Deliver queued callbacks, waiting up to ``timeout`` s for the first; returns count."""
        delivered = 0
        wait = timeout
        while True:
            try:
                callback = self._callbacks.get(timeout=wait) if wait > 0 else self._next()
            except queue.Empty:
                return delivered
            callback()
            delivered += 1
            wait = 0.0

    def _next(self) -> Callable[[], None]:
        return self._callbacks.get_nowait()

    def run_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Drain until ``condition()`` holds; ``False`` after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while not condition():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.drain(min(left, 0.05))
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
