"""The card side of vsmartcard's vpcd wire protocol: a Python card behind a real pcscd.

The vpcd driver inside pcscd listens on one TCP port per slot; the virtual card connects
to it, and pyscard then sees an ordinary reader with a card in it (docs/pcsc.md).

Every message, both ways, is a frame: a 2-byte big-endian length N, then N bytes.
From vpcd, N = 1 is a control code (:class:`ControlCode`); N >= 2 is a command APDU,
forwarded exactly as the application sent it. The card answers a ``GET_ATR`` control
code and every APDU with one frame; it never answers the other control codes and
never speaks first.

Two details make this fast and robust:

- Debian 12's vpcd (0.8) writes the length and the body separately without
  ``TCP_NODELAY``; a card that lets the kernel delay its ACKs waits 40 ms per message.
  The slot sets ``TCP_QUICKACK`` before every ``recv()`` and sends each frame in one
  ``sendall()``: about 0.1 ms per APDU through the whole stack instead of 44 ms.
- pcscd polls presence every 400 ms by asking for the ATR, so an idle card keeps
  answering ``GET_ATR`` for as long as it is inserted.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from cardreader.log import TRAFFIC

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_FRAME_BODY",
    "CardModel",
    "ControlCode",
    "FrameDecoder",
    "VirtualReaderSlot",
    "VpcdConnectionError",
    "decode_message",
    "encode_frame",
    "recv_frame",
]

_log = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 0x8C7B
"""Port of slot 0 in Debian's ``/etc/reader.conf.d/vpcd`` (35963; slot 1 is 35964)."""

MAX_FRAME_BODY: Final = 0xFFFF
"""Largest body a 2-byte length prefix can carry."""

MIN_ABSENCE: Final = 0.6
"""Seconds a slot stays empty after a removal before the next insert (see ``insert``)."""

_HEADER_LEN: Final = 2
_SW_NO_PRECISE_DIAGNOSIS: Final = b"\x6f\x00"
_TCP_QUICKACK: Final[int | None] = getattr(socket, "TCP_QUICKACK", None)


class ControlCode(enum.IntEnum):
    """One-byte control messages vpcd sends to the card (vsmartcard ``vpcd.h``)."""

    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


@runtime_checkable
class CardModel(Protocol):
    """What a virtual card must offer to sit in a :class:`VirtualReaderSlot`."""

    atr: bytes

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data + SW1 SW2."""
        ...

    def reset(self) -> None:
        """Forget the session state (a warm reset or power-on of the chip)."""
        ...


# (host, port) -> time.monotonic() of the last removal, shared by all slot objects.
_last_removal: dict[tuple[str, int], float] = {}
_last_removal_lock = threading.Lock()


def _note_removal(host: str, port: int) -> None:
    with _last_removal_lock:
        _last_removal[(host, port)] = time.monotonic()


def _absence_left(host: str, port: int, min_absence: float) -> float:
    with _last_removal_lock:
        removed_at = _last_removal.get((host, port))
    if removed_at is None:
        return 0.0
    return max(0.0, removed_at + min_absence - time.monotonic())


class VpcdConnectionError(ConnectionError):
    """No vpcd driver accepts connections on the given host and port."""


# --- framing (pure) -------------------------------------------------------------------


def encode_frame(body: bytes) -> bytes:
    """Return ``body`` prefixed with its 2-byte big-endian length (one vpcd frame)."""
    if len(body) > MAX_FRAME_BODY:
        raise ValueError(f"vpcd frame body too long: {len(body)} > {MAX_FRAME_BODY} bytes")
    return len(body).to_bytes(_HEADER_LEN, "big") + body


def decode_message(body: bytes) -> ControlCode | int | bytes:
    """Classify one frame body from vpcd.

    Returns a :class:`ControlCode` for a known one-byte control message, the raw ``int``
    for an unknown one-byte message, and the body itself (a command APDU) otherwise.
    """
    if len(body) == 1:
        try:
            return ControlCode(body[0])
        except ValueError:
            return body[0]
    return body


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get complete frame bodies back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data`` and return every frame body completed by it, in order."""
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= _HEADER_LEN:
            length = int.from_bytes(self._buffer[:_HEADER_LEN], "big")
            end = _HEADER_LEN + length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_HEADER_LEN:end]))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Number of buffered bytes that do not yet form a complete frame."""
        return len(self._buffer)


def _quickack(sock: socket.socket) -> None:
    """Ask Linux to ACK the next segment at once (the flag does not stick; set it per recv)."""
    if _TCP_QUICKACK is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)


def _recv_exactly(sock: socket.socket, count: int) -> bytes | None:
    """Read exactly ``count`` bytes; ``None`` if the peer closed the connection first."""
    chunks = bytearray()
    while len(chunks) < count:
        _quickack(sock)
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def recv_frame(sock: socket.socket) -> bytes | None:
    """Read one frame body from ``sock``; ``None`` on a clean end of stream.

    Raises :class:`EOFError` when the stream ends in the middle of a frame.
    """
    header = _recv_exactly(sock, _HEADER_LEN)
    if header is None:
        return None
    length = int.from_bytes(header, "big")
    body = _recv_exactly(sock, length) if length else b""
    if body is None:
        raise EOFError(f"vpcd closed the connection inside a {length}-byte frame")
    return body


# --- the slot ------------------------------------------------------------------------


class VirtualReaderSlot:
    """One vpcd slot: inserts a :class:`CardModel` by connecting to pcscd's vpcd driver.

    ``insert(card)`` connects and serves the card from a background thread;
    ``remove()`` closes the socket, which pcscd sees as a card removal (within its
    400 ms presence poll). The slot can be reused for another card afterwards.

    Fault injection: ``insert(card, remove_at_apdu=N)`` pulls the card out when the
    N-th command APDU of this insertion arrives (1-based); the card never answers it,
    as when a patient pulls the card mid-read.
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        *,
        connect_timeout: float = 5.0,
        min_absence: float = MIN_ABSENCE,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.min_absence = min_absence
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._card: CardModel | None = None
        self._remove_at_apdu: int | None = None
        self._apdu_count = 0
        self._removed = threading.Event()
        self._removed.set()
        self._on_removed: Callable[[], None] | None = None

    # -- public API --

    @property
    def card(self) -> CardModel | None:
        """The card currently inserted, or ``None``."""
        return self._card

    @property
    def inserted(self) -> bool:
        """Whether a card is connected to vpcd right now."""
        return not self._removed.is_set()

    @property
    def apdu_count(self) -> int:
        """Command APDUs received since the current (or last) insertion."""
        return self._apdu_count

    def insert(
        self,
        card: CardModel,
        *,
        remove_at_apdu: int | None = None,
        on_removed: Callable[[], None] | None = None,
    ) -> None:
        """Connect ``card`` to vpcd and serve it in a background thread.

        ``remove_at_apdu``: pull the card when the N-th APDU arrives (never answered).
        ``on_removed``: called from the slot thread once the card is out, however.

        pcscd only notices that a card left at its next 400 ms presence poll. When the
        driver dropped the connection outside a poll (a command failed because the card
        was pulled) and a new card connects before that poll, pcscd never sees the slot
        empty and the new card stays invisible. So this keeps the slot (host and port,
        whichever object served it) empty for ``min_absence`` seconds after a removal;
        there is no event to wait for instead.
        """
        if remove_at_apdu is not None and remove_at_apdu < 1:
            raise ValueError("remove_at_apdu counts from 1")
        with self._lock:
            if self.inserted and self._sock is None:
                # The card is being pulled (a fault, or the driver hung up): pcscd may see
                # it gone before the slot thread has finished; let that thread end first.
                self._removed.wait(self.connect_timeout)
            if self.inserted:
                raise RuntimeError(f"a card is already inserted in vpcd slot {self.port}")
            self._join_thread()
            wait = _absence_left(self.host, self.port, self.min_absence)
            if wait > 0:
                time.sleep(wait)
            try:
                sock = socket.create_connection(
                    (self.host, self.port), timeout=self.connect_timeout
                )
            except OSError as exc:
                raise VpcdConnectionError(
                    f"cannot insert the virtual card: nothing accepts connections on "
                    f"{self.host}:{self.port} ({exc.strerror or exc}). Is pcscd running "
                    f"with the vpcd driver configured for this port?"
                ) from exc
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._card = card
            self._remove_at_apdu = remove_at_apdu
            self._on_removed = on_removed
            self._apdu_count = 0
            self._removed.clear()
            self._thread = threading.Thread(
                target=self._serve,
                args=(sock, card),
                name=f"vpcd-slot-{self.port}",
                daemon=True,
            )
            self._thread.start()
        _log.debug("virtual card inserted in vpcd slot %s:%d", self.host, self.port)

    def remove(self) -> None:
        """Pull the card out (close the socket) and wait for the slot thread to end."""
        with self._lock:
            self._close_socket()
            self._join_thread()

    def wait_removed(self, timeout: float | None = None) -> bool:
        """Block until the card is out (e.g. after a fault); ``False`` on timeout."""
        return self._removed.wait(timeout)

    def close(self) -> None:
        """Remove any card; the slot object can still be reused afterwards."""
        self.remove()

    def __enter__(self) -> VirtualReaderSlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _join_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
            if thread.is_alive():  # pragma: no cover - the socket is closed, recv returns
                _log.warning("vpcd slot thread %s did not stop", thread.name)
            self._thread = None

    def _serve(self, sock: socket.socket, card: CardModel) -> None:
        try:
            while True:
                try:
                    body = recv_frame(sock)
                except (OSError, EOFError):
                    break
                if body is None:
                    break
                if not self._handle(sock, card, body):
                    break
        except Exception:
            _log.exception("virtual card in vpcd slot %d failed", self.port)
        finally:
            # Not under self._lock: remove() holds it while joining this thread.
            if self._sock is sock:
                self._sock = None
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            _note_removal(self.host, self.port)
            self._card = None
            self._removed.set()
            _log.debug("virtual card removed from vpcd slot %s:%d", self.host, self.port)
            callback = self._on_removed
            if callback is not None:
                callback()

    def _handle(self, sock: socket.socket, card: CardModel, body: bytes) -> bool:
        """Answer one message; ``False`` ends the insertion."""
        message = decode_message(body)
        if isinstance(message, ControlCode):
            if message is ControlCode.GET_ATR:
                self._send(sock, card.atr)
            elif message in (ControlCode.POWER_ON, ControlCode.RESET):
                # ISO 7816-3 §6.2: a cold or warm reset ends every session on the chip.
                card.reset()
            return True
        if isinstance(message, int):
            _log.warning("vpcd sent unknown control code %02X; ignored", message)
            return True
        self._apdu_count += 1
        if self._remove_at_apdu is not None and self._apdu_count >= self._remove_at_apdu:
            _log.debug("fault: pulling the card at APDU #%d", self._apdu_count)
            return False
        _log.log(TRAFFIC, "vpcd > card: %s", message.hex())
        try:
            response = card.process(message)
        except Exception:
            _log.exception("virtual card raised while processing an APDU; answering 6F00")
            response = _SW_NO_PRECISE_DIAGNOSIS
        _log.log(TRAFFIC, "card > vpcd: %s", response.hex())
        self._send(sock, response)
        return True

    @staticmethod
    def _send(sock: socket.socket, body: bytes) -> None:
        sock.sendall(encode_frame(body))  # header and body in one write
