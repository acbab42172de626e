"""A simulated 2D QR scanner: a code "scanned" is written to the tty followed by CR."""

from __future__ import annotations

import os

from simulators.devices.pty import PtyPair

CR = b"\r"


class VirtualQrScanner:
    """Open :attr:`port` in the kiosk; call :meth:`scan` to present a code."""

    def __init__(self, suffix: bytes = CR) -> None:
        self._pty = PtyPair()
        self.suffix = suffix
        self.port = self._pty.port

    def scan(self, text: str) -> None:
        """Send ``text`` as UTF-8 with the suffix, as a USB-CDC scanner in keyboard-less mode."""
        self.send(text.encode("utf-8") + self.suffix)

    def send(self, raw: bytes) -> None:
        """Raw bytes, for tests of malformed input."""
        os.write(self._pty.master, raw)

    def close(self) -> None:
        self._pty.close()

    def __enter__(self) -> VirtualQrScanner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
