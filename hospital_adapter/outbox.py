"""The outbox worker: delivers queued registrations once the HIS is back, and queued XML0
reports once the BHXH gateway is (one worker per :class:`~hospital_adapter.store.Queue`).

At-least-once sending with an idempotency key (MSH-10, FHIR Encounter identifier, XML0
``MA_LK``) gives exactly-once registration; see :mod:`hospital_adapter.store.db`.

The kiosk runs one worker in a background thread (:meth:`OutboxWorker.start`) and stops it
at shutdown with :meth:`OutboxThread.stop`, which returns once the send in flight, if any,
is done: within the worker's ``send_timeout_s`` plus one store transaction.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Protocol

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    ConfigurationError,
    GatewayError,
    HisError,
    HisRejectedError,
    HospitalAdapterError,
    InvalidInputError,
    StoreError,
    Xml0RejectedError,
    Xml0SignatureError,
)
from hospital_adapter.gateway.submission import Xml0Receipt
from hospital_adapter.store import CheckInStore, Queue
from hospital_adapter.visit import Visit, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class RetrySchedule:
    """Wait ``base * 2**attempts`` (at most ``cap``, with ±20 % jitter) between attempts;
    give up after ``max_attempts`` and leave the message rejected for a person to look at."""

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=5)
    max_attempts: int = 50

    def next_attempt(self, now: datetime, attempts: int, rng: random.Random) -> datetime | None:
        if attempts + 1 >= self.max_attempts:
            return None
        delay = min(self.cap, self.base * (1 << min(attempts, 20)))
        return now + delay * rng.uniform(0.8, 1.2)


class Sender(Protocol):
    """What a worker hands messages to: a HIS registrar (no receipt) or the XML0 reporter
    (the gateway's receipt)."""

    def register(self, visit: Visit, deadline: Deadline) -> Xml0Receipt | None: ...


DELIVERY_ERRORS = (
    HisError,
    GatewayError,
    ConfigurationError,
    Xml0SignatureError,
    InvalidInputError,
)
"""A send that fails with one of these is recorded and retried or rejected; the message
is never lost. Configuration and signing problems are retried: a person fixes them."""


def permanent(exc: HospitalAdapterError) -> bool:
    """True when sending again cannot help: the receiver refused the message itself, or the
    message cannot be built (a code not valid on the visit's day)."""
    if isinstance(exc, HisRejectedError | Xml0RejectedError):
        return not exc.retryable
    return isinstance(exc, InvalidInputError)


def describe(exc: HospitalAdapterError) -> str:
    """A short error text without the receiver's free text (which may echo personal data)."""
    if isinstance(exc, HisRejectedError):
        return f"{type(exc).__name__} {exc.status}"
    if isinstance(exc, Xml0RejectedError):
        return f"{type(exc).__name__} {exc.code}"
    return f"{type(exc).__name__}: {exc}"


class OutboxWorker:
    """Claims due messages of ``queue`` from the store and hands them to ``registrar``."""

    def __init__(
        self,
        store: CheckInStore,
        registrar: Sender,
        *,
        queue: Queue = Queue.HIS,
        schedule: RetrySchedule = RetrySchedule(),
        lease: timedelta = timedelta(seconds=60),
        send_timeout_s: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._registrar = registrar
        self._queue = queue
        self._schedule = schedule
        self._lease = lease
        self._send_timeout = send_timeout_s
        self._clock = clock
        self._rng = rng or random.Random()

    def deliver(self, key: str, attempts: int, send: Callable[[], Xml0Receipt | None]) -> str:
        """Run ``send`` for message ``key`` and record the outcome in the store.

        Returns ``delivered``, ``retrying`` or ``rejected``: what the HIS did. If the
        store cannot record it (disk full...), the message stays pending and is sent
        again once its lease or hold ends (the HIS deduplicates): the outcome stands.
        """
        queue = self._queue
        try:
            receipt = send()
        except DELIVERY_ERRORS as exc:
            now = self._clock()
            retry_at = (
                None if permanent(exc) else self._schedule.next_attempt(now, attempts, self._rng)
            )
            error = describe(exc)
            log.info("message %s not delivered: %s", key, error)
            self._record(lambda: self._store.mark_failed(key, error, retry_at, now, queue))
            return "rejected" if retry_at is None else "retrying"
        self._record(lambda: self._store.mark_delivered(key, self._clock(), queue, receipt))
        return "delivered"

    @staticmethod
    def _record(mark: Callable[[], None]) -> None:
        try:
            mark()
        except StoreError as exc:
            log.error("outcome not recorded, the message will be sent again: %s", exc)

    def deliver_due(self, limit: int = 50, stop: threading.Event | None = None) -> DeliveryReport:
        """One pass: send every message due now, one after the other.

        Once ``stop`` is set the pass ends after the message in flight; the messages it
        claimed but did not send are released, due again at once for the next worker.
        """
        counts = {"delivered": 0, "retrying": 0, "rejected": 0}
        messages = self._store.claim_due(self._clock(), self._lease, limit, self._queue)
        for index, message in enumerate(messages):
            if stop is not None and stop.is_set():
                keys = [m.key for m in messages[index:]]
                self._store.release(keys, now=self._clock(), queue=self._queue)
                break
            send = partial(
                self._registrar.register, message.visit, Deadline.after(self._send_timeout)
            )
            outcome = self.deliver(message.key, message.attempts, send)
            counts[outcome] += 1
        return DeliveryReport(**counts)

    def run(self, stop: threading.Event, interval_s: float = 2.0) -> None:
        """Deliver due messages every ``interval_s`` until ``stop`` is set.

        Returns at most one send (``send_timeout_s``) and one store transaction after
        ``stop`` is set. A pass that fails (store busy, an unexpected error) is logged and
        tried again at the next interval: the loop only ends on ``stop``.
        """
        while not stop.is_set():
            try:
                self.deliver_due(stop=stop)
            except HospitalAdapterError as exc:
                log.warning("outbox pass failed, trying again later: %s", exc)
            except Exception as exc:  # the kiosk's worker must outlive one bad pass
                # The type only: an unknown error's text might carry personal data.
                log.error("outbox pass failed unexpectedly: %s", type(exc).__name__)
            stop.wait(interval_s)

    def start(self, interval_s: float = 2.0) -> OutboxThread:
        """Run :meth:`run` in a daemon thread; stop it with :meth:`OutboxThread.stop`."""
        return OutboxThread(self, interval_s).start()


class OutboxThread:
    """An :class:`OutboxWorker` running in a daemon thread; a context manager that stops it.

    The thread is a daemon, so a kiosk that exits without stopping it never hangs; stopping
    it first lets the send in flight finish and be recorded.
    """

    def __init__(self, worker: OutboxWorker, interval_s: float = 2.0) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run, args=(self._stop, interval_s), name="outbox-worker", daemon=True
        )

    def start(self) -> OutboxThread:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Ask the worker to stop, wait up to ``timeout_s`` (``None``: until it has), and
        return whether it has ended. It ends within ``send_timeout_s`` and one transaction."""
        self._stop.set()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def __enter__(self) -> OutboxThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
