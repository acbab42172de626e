"""Simulated serial devices on pseudo-terminals: a QR scanner and an ESC/POS printer.

The kiosk opens them with pyserial like real USB-CDC devices (docs/architecture.md §5).
"""

from __future__ import annotations

from simulators.devices.printer import VirtualPrinter, decode_escpos
from simulators.devices.scanner import VirtualQrScanner

__all__ = ["VirtualPrinter", "VirtualQrScanner", "decode_escpos"]
