"""The 2D QR scanner: a USB-CDC serial device that sends each code followed by CR.

A reader thread collects bytes up to CR (or LF), decodes UTF-8 (a BOM is kept for the QR
parser to strip) and calls ``on_code`` from that thread. The port is reopened after a
failure, so an unplugged scanner comes back by itself. Lines are bounded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import serial

_log = logging.getLogger(__name__)

TERMINATORS = b"\r\n"
MAX_CODE_BYTES = 4096
"""Longer input without a terminator is dropped (a CCCD QR is a few hundred bytes)."""
REOPEN_DELAY_S = 1.0


class SerialQrScanner:
    """Reads codes in a background thread; :meth:`start` and :meth:`stop` it."""

    def __init__(
        self,
        port: str,
        on_code: Callable[[str], None],
        *,
        baudrate: int = 9600,
        poll_s: float = 0.2,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.poll_s = poll_s
        self._on_code = on_code
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self.last_error = ""
        self.codes_read = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.poll_s + REOPEN_DELAY_S)
            self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with serial.Serial(self.port, self.baudrate, timeout=self.poll_s) as port:
                    self._connected.set()
                    self.last_error = ""
                    self._read(port)
            except (serial.SerialException, OSError) as exc:
                self.last_error = str(exc)
                _log.warning("QR scanner on %s: %s", self.port, exc)
            self._connected.clear()
            self._stop.wait(REOPEN_DELAY_S)

    def _read(self, port: serial.Serial) -> None:
        buffer = bytearray()
        overflow = False
        while not self._stop.is_set():
            chunk = port.read(max(1, port.in_waiting))
            for byte in chunk:
                if byte in TERMINATORS:
                    if buffer and not overflow:
                        self._deliver(bytes(buffer))
                    buffer.clear()
                    overflow = False
                elif len(buffer) < MAX_CODE_BYTES:
                    buffer.append(byte)
                elif not overflow:
                    _log.warning("QR scanner: a code longer than %d bytes dropped", MAX_CODE_BYTES)
                    overflow = True

    def _deliver(self, raw: bytes) -> None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            _log.warning("QR scanner: a code that is not UTF-8 was dropped")
            return
        self.codes_read += 1
        self._on_code(text)
