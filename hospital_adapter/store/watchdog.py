"""One thread that fires callbacks whose deadline passed: the store's guard against a link
that goes silent mid-transaction, without a thread started for every transaction.

:meth:`Watchdog.disarm` returns only once the alarm can no longer fire: a callback that
is running finishes first, so nothing fires after the guarded block has moved on.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Alarm:
    """One armed callback; ``fired`` once it ran."""

    deadline: float
    callback: Callable[[], None] = field(repr=False)
    fired: bool = False
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Watchdog:
    """Calls each armed callback once its deadline (``time.monotonic``) passes, on one
    daemon thread started at the first alarm, unless the alarm is disarmed first."""

    def __init__(self, name: str = "watchdog") -> None:
        self._name = name
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> Alarm:
        """``callback`` in ``seconds`` from now, on the watchdog's thread."""
        alarm = Alarm(time.monotonic() + seconds, callback)
        with self._wake:
            heapq.heappush(self._heap, (alarm.deadline, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()
        return alarm

    def disarm(self, alarm: Alarm) -> bool:
        """Stop ``alarm``; whether it had fired (its callback then finished already)."""
        with alarm.lock:
            alarm.cancelled = True
            return alarm.fired

    @property
    def pending(self) -> int:
        """Alarms neither fired nor disarmed."""
        with self._wake:
            return sum(not alarm.cancelled and not alarm.fired for _, _, alarm in self._heap)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                _, _, alarm = heapq.heappop(self._heap)
            with alarm.lock:
                if alarm.cancelled:
                    continue
                alarm.fired = True
                try:
                    alarm.callback()
                except Exception:  # a failing callback must not stop the others
                    log.exception("watchdog callback failed")
