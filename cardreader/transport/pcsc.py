"""The PC/SC transport: any reader pcscd (or WinSCard) knows, through pyscard.

This is the only module of the library that imports pyscard (an import-linter contract
checks it). It talks to pyscard's thin ``smartcard.scard`` layer, which returns raw
PC/SC result codes, and turns those codes into :mod:`cardreader.errors` exceptions in one
table (:func:`error_for`).

Two pyscard traps are handled here (docs/pcsc.md):

- ``SCardTransmit`` has no timeout: a stalled card blocks forever. Every call on a
  card handle runs on the connection's own worker thread and the caller waits with a
  deadline; past it :class:`~cardreader.errors.CardTimeoutError` is raised and the
  connection is unusable (the worker may stay blocked inside pcscd).
- pyscard's high-level connection objects disconnect in ``__del__`` and can power off
  a card inserted later. This module never relies on ``__del__``: :meth:`PcscTransport.close`
  disconnects explicitly (also on leaving a ``with`` block).

pcsc-lite clients find pcscd through ``PCSCLITE_CSOCK_NAME`` (default
``/run/pcscd/pcscd.comm``); libpcsclite reads it once, at the first context of the
process, so it must be set before the first call into this module.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar, cast

from smartcard import scard

from cardreader.errors import (
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ReaderNotFoundError,
    ServiceUnavailableError,
    TransportError,
)
from cardreader.iso7816.atr import extended_length_allowed
from cardreader.log import TRAFFIC, get_logger

__all__ = [
    "DEFAULT_TRANSMIT_TIMEOUT",
    "CardWaiter",
    "Disposition",
    "PcscResult",
    "PcscTransport",
    "ProtocolChoice",
    "error_for",
    "list_readers",
    "wait_for_card",
    "wait_for_removal",
]

_log = get_logger(__name__)

DEFAULT_TRANSMIT_TIMEOUT: Final = 10.0
"""Seconds a command may take before the card counts as stalled (Chip Authentication on a
slow chip takes a few seconds; nothing legitimate takes ten)."""

ProtocolChoice = Literal["T1", "any"]
"""``"T1"``: T=1 only (contactless and most ID chips); ``"any"``: let the reader pick T=0 or T=1."""

Disposition = Literal["leave", "reset", "unpower"]
"""What happens to the card on :meth:`PcscTransport.close` (``SCardDisconnect``)."""

_T = TypeVar("_T")


class PcscResult(enum.IntEnum):
    """PC/SC result codes this module tells apart (``winscard.h``, PC/SC Part 5 §3.1)."""

    SUCCESS = 0x00000000
    CANCELLED = 0x80100002
    INVALID_HANDLE = 0x80100003
    UNKNOWN_READER = 0x80100009
    TIMEOUT = 0x8010000A
    SHARING_VIOLATION = 0x8010000B
    NO_SMARTCARD = 0x8010000C
    PROTO_MISMATCH = 0x8010000F
    COMM_ERROR = 0x80100013
    NOT_TRANSACTED = 0x80100016
    READER_UNAVAILABLE = 0x80100017
    NO_SERVICE = 0x8010001D
    SERVICE_STOPPED = 0x8010001E
    NO_READERS_AVAILABLE = 0x8010002E
    COMM_DATA_LOST = 0x8010002F
    UNSUPPORTED_CARD = 0x80100065
    UNRESPONSIVE_CARD = 0x80100066
    UNPOWERED_CARD = 0x80100067
    RESET_CARD = 0x80100068
    REMOVED_CARD = 0x80100069


_PROTOCOLS: Final[dict[ProtocolChoice, int]] = {
    "T1": scard.SCARD_PROTOCOL_T1,
    "any": scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
}
_DISPOSITIONS: Final[dict[Disposition, int]] = {
    "leave": scard.SCARD_LEAVE_CARD,
    "reset": scard.SCARD_RESET_CARD,
    "unpower": scard.SCARD_UNPOWER_CARD,
}
_CLOSE_TIMEOUT: Final = 5.0

_SERVICE_HINT: Final = (
    "the PC/SC service (pcscd) is not running or not reachable; start it "
    "(`systemctl start pcscd.socket`, or `make run` for the simulator), or check "
    "PCSCLITE_CSOCK_NAME"
)


def _code(hresult: object) -> int:
    """pyscard returns result codes as signed or unsigned ints; normalise to 32 bits."""
    return int(cast(int, hresult)) & 0xFFFFFFFF


def _describe(code: int) -> str:
    try:
        name = PcscResult(code).name
    except ValueError:
        name = "unknown"
    try:
        text = str(scard.SCardGetErrorMessage(code)).strip().rstrip(".")
    except Exception:  # pragma: no cover - pyscard's own message table is best effort
        text = ""
    return f"{text or name} (0x{code:08X} {name})"


def error_for(
    hresult: int, action: str, *, reader: str | None = None, in_session: bool = False
) -> TransportError:
    """Map a PC/SC result code to the library's exception, with a message a person reads.

    ``action`` says what was attempted ("connecting", "sending a command", ...);
    ``in_session``: a card handle was open, so a vanished reader means the card is gone.
    """
    code = _code(hresult)
    where = f" in reader {reader!r}" if reader else ""
    detail = _describe(code)
    match code:
        case PcscResult.NO_SERVICE | PcscResult.SERVICE_STOPPED:
            return ServiceUnavailableError(f"{action} failed: {_SERVICE_HINT} [{detail}]")
        case (
            PcscResult.REMOVED_CARD
            | PcscResult.NOT_TRANSACTED
            | PcscResult.RESET_CARD
            | PcscResult.UNPOWERED_CARD
            | PcscResult.INVALID_HANDLE
            | PcscResult.COMM_DATA_LOST
        ):
            return CardRemovedError(
                f"the card{where} was removed or reset while {action}; "
                f"insert it again and start over [{detail}]"
            )
        case PcscResult.NO_SMARTCARD:
            return NoCardError(f"there is no card{where}; insert the card [{detail}]")
        case PcscResult.UNKNOWN_READER | PcscResult.NO_READERS_AVAILABLE:
            return ReaderNotFoundError(f"no reader named {reader!r} is connected [{detail}]")
        case PcscResult.READER_UNAVAILABLE if in_session:
            return CardRemovedError(
                f"the reader {reader!r} disappeared while {action} (unplugged?) [{detail}]"
            )
        case PcscResult.READER_UNAVAILABLE:
            return ReaderNotFoundError(
                f"the reader {reader!r} is not available (unplugged?) [{detail}]"
            )
        case PcscResult.TIMEOUT:
            return CardTimeoutError(f"the card{where} did not answer in time [{detail}]")
        case PcscResult.SHARING_VIOLATION:
            return TransportError(
                f"the card{where} is in use by another application; close it and retry [{detail}]"
            )
        case PcscResult.UNRESPONSIVE_CARD | PcscResult.UNSUPPORTED_CARD:
            return TransportError(
                f"the card{where} does not answer the reader (inserted the wrong way, "
                f"or not a chip card?) [{detail}]"
            )
        case PcscResult.PROTO_MISMATCH:
            return TransportError(
                f"the card{where} does not speak the requested protocol [{detail}]"
            )
        case _:
            return TransportError(f"{action}{where} failed: {detail}")


def _establish_context() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if _code(hresult) != PcscResult.SUCCESS:
        raise error_for(hresult, "connecting to the PC/SC service")
    return int(context)


def _release_context(context: int) -> None:
    try:
        scard.SCardReleaseContext(context)
    except Exception as exc:  # pragma: no cover - pyscard raises SystemError on odd states
        _log.debug("releasing the PC/SC context failed: %r", exc)


def _list_readers(context: int) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    code = _code(hresult)
    if code == PcscResult.NO_READERS_AVAILABLE:
        return []
    if code != PcscResult.SUCCESS:
        raise error_for(code, "listing the readers")
    return [str(name) for name in readers]


def list_readers() -> list[str]:
    """Names of the readers pcscd knows right now (empty if none is connected).

    Raises :class:`~cardreader.errors.ServiceUnavailableError` without pcscd.
    """
    context = _establish_context()
    try:
        readers = _list_readers(context)
    finally:
        _release_context(context)
    _log.debug("%d PC/SC reader(s) found", len(readers))
    return readers


# --- the worker that puts a deadline on blocking pyscard calls -------------------------


@dataclass
class _Job:
    call: Callable[[], object]
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class _Worker:
    """One daemon thread running a connection's pyscard calls, so the caller can stop
    waiting at a deadline (a blocked call then keeps only this thread)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job.result = job.call()
            except BaseException as exc:
                job.error = exc
            job.done.set()

    def submit(self, call: Callable[[], object]) -> _Job:
        job = _Job(call)
        self._jobs.put(job)
        return job

    def run(self, call: Callable[[], _T], timeout: float) -> _T:
        """Run ``call`` on the worker; :class:`TimeoutError` if it takes over ``timeout`` s."""
        job = self.submit(call)
        if not job.done.wait(timeout):
            raise TimeoutError
        if job.error is not None:
            raise job.error
        return cast(_T, job.result)

    def stop(self) -> None:
        """Let the thread end after its queued jobs (it is a daemon if it never does)."""
        self._jobs.put(None)


# --- the transport -------------------------------------------------------------------


class PcscTransport:
    """A card session in one PC/SC reader; implements :class:`~cardreader.transport.base.Transport`.

    Open it with :meth:`connect`; always :meth:`close` it (or use ``with``). Not for
    concurrent use from several threads. After a failure that ends the session (card
    removed, timeout) every later call raises again: connect anew.
    """

    def __init__(
        self,
        *,
        reader: str,
        context: int,
        card: int,
        protocol: int,
        atr: bytes,
        worker: _Worker,
        transmit_timeout: float,
        disposition: Disposition,
    ) -> None:
        """Use :meth:`connect`; this only stores an already open session."""
        self.reader = reader
        self.atr = atr
        self.transmit_timeout = transmit_timeout
        self.disposition: Disposition = disposition
        self._context = context
        self._card = card
        self._protocol = protocol
        self._pci = (
            scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        )
        self._worker = worker
        self._closed = False
        self._stuck = False
        self._answered = False
        self._failure: TransportError | None = None

    @classmethod
    def connect(
        cls,
        reader: str,
        *,
        protocol: ProtocolChoice = "any",
        exclusive: bool = False,
        transmit_timeout: float = DEFAULT_TRANSMIT_TIMEOUT,
        disposition: Disposition = "reset",
    ) -> PcscTransport:
        """Open a session with the card in ``reader`` (its exact PC/SC name).

        ``exclusive`` keeps other applications off the card for the session;
        ``disposition`` is applied on close: ``"reset"`` (default) ends any secure
        messaging session on the chip.
        """
        _log.debug("connecting to reader %r (protocol %s)", reader, protocol)
        worker = _Worker(name=f"pcsc-{reader}")
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED

        def open_session() -> tuple[int, int, int, bytes]:
            ctx = _establish_context()
            hresult, card, active = scard.SCardConnect(ctx, reader, share, _PROTOCOLS[protocol])
            code = _code(hresult)
            if code != PcscResult.SUCCESS:
                error = error_for(code, "connecting to the card", reader=reader)
                if isinstance(error, ReaderNotFoundError):
                    error = ReaderNotFoundError(_unknown_reader_message(ctx, reader))
                _release_context(ctx)
                raise error
            hresult, _name, _state, _proto, atr = scard.SCardStatus(card)
            atr_bytes = bytes(atr) if _code(hresult) == PcscResult.SUCCESS else b""
            return ctx, int(card), int(active), atr_bytes

        job = worker.submit(open_session)
        if not job.done.wait(transmit_timeout):

            def undo() -> None:  # runs after open_session finally returns, if ever
                if job.error is None:
                    ctx, card, _, _ = cast(tuple[int, int, int, bytes], job.result)
                    scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)
                    _release_context(ctx)

            worker.submit(undo)
            worker.stop()
            raise CardTimeoutError(
                f"connecting to the card in reader {reader!r} took over "
                f"{transmit_timeout} s; remove the card and insert it again"
            )
        worker_error = job.error
        if worker_error is not None:
            worker.stop()
            raise worker_error
        context, card, active, atr = cast(tuple[int, int, int, bytes], job.result)
        _log.debug(
            "connected to %r: protocol T=%d, ATR %s%s",
            reader,
            0 if active == scard.SCARD_PROTOCOL_T0 else 1,
            atr.hex(),
            "" if extended_length_allowed(True, atr) else " (declares no extended length)",
        )
        return cls(
            reader=reader,
            context=context,
            card=card,
            protocol=active,
            atr=atr,
            worker=worker,
            transmit_timeout=transmit_timeout,
            disposition=disposition,
        )

    # -- Transport protocol --

    @property
    def supports_extended_length(self) -> bool:
        """PC/SC passes extended APDUs through unless the card's ATR declares it takes none
        (:mod:`cardreader.iso7816.atr`); the file reader probes and steps down."""
        return extended_length_allowed(True, self.atr)

    @property
    def protocol(self) -> Literal["T0", "T1"]:
        """The transmission protocol the reader chose."""
        return "T1" if self._protocol == scard.SCARD_PROTOCOL_T1 else "T0"

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return response data + SW1 SW2 (never interpreted here)."""
        self._check_usable()
        if _log.isEnabledFor(TRAFFIC):
            _log.log(TRAFFIC, "%s > %s", self.reader, apdu.hex())
        command = list(apdu)
        try:
            hresult, response = self._worker.run(
                lambda: scard.SCardTransmit(self._card, self._pci, command),
                self.transmit_timeout,
            )
        except TimeoutError:
            self._stuck = True
            raise self._fail(
                CardTimeoutError(
                    f"the card in reader {self.reader!r} did not answer within "
                    f"{self.transmit_timeout} s; this connection is unusable, remove the "
                    "card and insert it again"
                )
            ) from None
        code = _code(hresult)
        if code != PcscResult.SUCCESS:
            error = error_for(code, "sending a command", reader=self.reader, in_session=True)
            raise self._gone(error) if isinstance(error, CardRemovedError) else error
        data = bytes(response)
        if len(data) < 2:
            # pcsc-lite reports a card that vanished mid-command as success, no bytes.
            raise self._gone(
                CardRemovedError(
                    f"the card in reader {self.reader!r} stopped answering in the middle of "
                    "a command (no response bytes); it was probably removed"
                )
            )
        self._answered = True
        if _log.isEnabledFor(TRAFFIC):
            _log.log(TRAFFIC, "%s < %s", self.reader, data.hex())
        return data

    # -- lifecycle --

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Disconnect (applying ``disposition``) and release the PC/SC context. Idempotent."""
        if self._closed:
            return
        self._closed = True
        disposition = _DISPOSITIONS[self.disposition]
        card, context = self._card, self._context

        def end_session() -> None:
            hresult = scard.SCardDisconnect(card, disposition)
            if _code(hresult) != PcscResult.SUCCESS:
                _log.debug("disconnect from %r: %s", self.reader, _describe(_code(hresult)))
            _release_context(context)

        if self._stuck:
            # The worker is still blocked in SCardTransmit; queue the clean-up behind it.
            self._worker.submit(end_session)
            _log.debug("reader %r closed while a command is still pending in pcscd", self.reader)
        else:
            try:
                self._worker.run(end_session, _CLOSE_TIMEOUT)
            except TimeoutError:
                _log.warning("disconnecting from reader %r timed out", self.reader)
            except Exception as exc:  # close never raises for a session already lost
                _log.debug("disconnecting from reader %r failed: %r", self.reader, exc)
        self._worker.stop()
        _log.debug("disconnected from reader %r (%s)", self.reader, self.disposition)

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --

    def _check_usable(self) -> None:
        if self._closed:
            raise TransportError(f"the connection to reader {self.reader!r} is closed")
        if self._failure is not None:
            raise type(self._failure)(
                f"this connection failed earlier and cannot be used again: {self._failure}"
            )

    def _gone(self, error: CardRemovedError) -> TransportError:
        """End the session: the card left. Before it answered anything it was never there
        for this session: pcscd notices a removal only at its next poll (every 400 ms with
        vpcd, docs/pcsc.md) and until then connects to a card that is already gone."""
        if self._answered:
            return self._fail(error)
        absent = NoCardError(
            f"there is no card in reader {self.reader!r} (it left before answering the first "
            "command); insert the card"
        )
        absent.__cause__ = error
        return self._fail(absent)

    def _fail(self, error: TransportError) -> TransportError:
        self._failure = error
        _log.debug("session with reader %r ended: %s", self.reader, error)
        return error


def _unknown_reader_message(context: int, reader: str) -> str:
    try:
        available = _list_readers(context)
    except TransportError:
        available = []
    listing = ", ".join(repr(name) for name in available) or "none"
    return f"no reader named {reader!r} is connected; available readers: {listing}"


# --- waiting for insertion and removal --------------------------------------------------


class CardWaiter:
    """Blocks until a card arrives in or leaves a reader (``SCardGetStatusChange``).

    :meth:`cancel` (from another thread) ends a pending wait early; the wait then
    reports a timeout. Close it when done, or use ``with``.
    """

    def __init__(self) -> None:
        self._context = _establish_context()
        self._closed = False

    def wait_for_card(self, reader: str, timeout: float) -> bytes | None:
        """Return the ATR once a card is in ``reader``; ``None`` after ``timeout`` s."""
        present, atr = self._wait(reader, timeout, want_present=True)
        return atr if present else None

    def wait_for_removal(self, reader: str, timeout: float) -> bool:
        """Return ``True`` once ``reader`` is empty; ``False`` after ``timeout`` s."""
        present, _ = self._wait(reader, timeout, want_present=False)
        return not present

    def cancel(self) -> None:
        """End a wait running in another thread (``SCardCancel``)."""
        if not self._closed:
            scard.SCardCancel(self._context)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release_context(self._context)

    def __enter__(self) -> CardWaiter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _wait(self, reader: str, timeout: float, *, want_present: bool) -> tuple[bool, bytes]:
        if self._closed:
            raise TransportError("this CardWaiter is closed")
        _log.debug(
            "waiting up to %.1f s for %s in reader %r",
            timeout,
            "a card" if want_present else "the card to leave",
            reader,
        )
        deadline = time.monotonic() + timeout
        # UNAWARE returns the current state at once; then block until it changes.
        known_state = scard.SCARD_STATE_UNAWARE
        wait_ms = 0
        while True:
            hresult, states = scard.SCardGetStatusChange(
                self._context, wait_ms, [(reader, known_state)]
            )
            code = _code(hresult)
            if code in (PcscResult.TIMEOUT, PcscResult.CANCELLED):
                return not want_present, b""
            if code != PcscResult.SUCCESS:
                raise error_for(code, "watching the reader", reader=reader)
            _name, event_state, atr = states[0]
            event = int(event_state)
            if event & scard.SCARD_STATE_UNKNOWN:
                raise ReaderNotFoundError(_unknown_reader_message(self._context, reader))
            present = bool(event & scard.SCARD_STATE_PRESENT) and not (
                event & scard.SCARD_STATE_MUTE
            )
            if present == want_present:
                return present, bytes(atr)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return present, b""
            known_state = event & ~scard.SCARD_STATE_CHANGED
            wait_ms = max(1, int(remaining * 1000))


def wait_for_card(reader: str, timeout: float) -> bytes | None:
    """Return the ATR once a card is in ``reader``; ``None`` after ``timeout`` seconds."""
    with CardWaiter() as waiter:
        return waiter.wait_for_card(reader, timeout)


def wait_for_removal(reader: str, timeout: float) -> bool:
    """Return ``True`` once ``reader`` is empty; ``False`` after ``timeout`` seconds."""
    with CardWaiter() as waiter:
        return waiter.wait_for_removal(reader, timeout)
