"""ESC/POS commands for a thermal receipt printer (Epson ESC/POS command reference).

What a ticket needs: initialise (``ESC @``), code table (``ESC t``), justification
(``ESC a``), print mode (``ESC !``), character size (``GS !``), white/black reverse
(``GS B``), print and feed (``LF``, ``ESC J``), the printer's own QR code (``GS ( k``,
functions 165, 167, 169, 180, 181), raster bit images (``GS v 0``) for what the printer's
fonts cannot print, feed and cut (``GS V``), and the real-time status request
(``DLE EOT``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class Ctl(enum.IntEnum):
    """The control bytes that start or are ESC/POS commands."""

    EOT = 0x04
    LF = 0x0A
    DLE = 0x10
    ESC = 0x1B
    GS = 0x1D


INITIALIZE = bytes((Ctl.ESC, 0x40))
"""ESC @: clear the buffer and reset the modes."""
LINE_FEED = bytes((Ctl.LF,))
"""LF: print the line buffer and feed one line."""
RASTER_PREFIX = bytes((Ctl.GS, 0x76, 0x30))
"""GS v 0 m xL xH yL yH d1...dk: print a raster bit image."""
MAX_BAND_ROWS = 256
"""Rows sent per GS v 0 command: small bands fit every printer's receive buffer."""
MAX_RASTER_WIDTH_BYTES = 0xFFFF


class RasterScale(enum.IntEnum):
    """GS v 0 m: each image dot printed as 1×1, 2×1, 1×2 or 2×2 dots."""

    NORMAL = 0
    DOUBLE_WIDTH = 1
    DOUBLE_HEIGHT = 2
    QUADRUPLE = 3


class Justify(enum.IntEnum):
    """ESC a n: justification of the line (text, raster images and QR codes)."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


class PrintMode(enum.IntFlag):
    """ESC ! n: print mode bits."""

    FONT_A = 0x00
    FONT_B = 0x01
    EMPHASIZED = 0x08
    DOUBLE_HEIGHT = 0x10
    DOUBLE_WIDTH = 0x20
    UNDERLINE = 0x80


class QrCorrection(enum.IntEnum):
    """GS ( k function 169: the QR code's error correction level."""

    L = 48
    M = 49
    Q = 50
    H = 51


class QrFunction(enum.IntEnum):
    """GS ( k cn=49 (QR code): the function byte ``fn``."""

    MODEL = 65  # function 165
    MODULE_SIZE = 67  # function 167
    CORRECTION = 69  # function 169
    STORE = 80  # function 180
    PRINT = 81  # function 181


QR_SYMBOL = 49
"""GS ( k cn: 49 selects the QR code symbol."""
QR_MODEL_2 = 50
MAX_QR_MODULE_DOTS = 16
MAX_QR_DATA = 7089


class Cut(enum.IntEnum):
    """GS V m (n): function B, feed n dots then cut."""

    FULL = 65
    PARTIAL = 66


def justify(value: Justify) -> bytes:
    """ESC a n: select justification."""
    return bytes((Ctl.ESC, 0x61, value))


def print_mode(mode: PrintMode) -> bytes:
    """ESC ! n: select the font, emphasis and double height/width."""
    return bytes((Ctl.ESC, 0x21, mode))


def character_size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: characters ``width`` × ``height`` times their size (1 to 8 each)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character size out of range (1 to 8)")
    return bytes((Ctl.GS, 0x21, (width - 1) << 4 | (height - 1)))


def reverse(on: bool) -> bytes:
    """GS B n: white/black reverse printing on or off."""
    return bytes((Ctl.GS, 0x42, int(on)))


def code_table(number: int) -> bytes:
    """ESC t n: select the character code table (printer-specific numbers)."""
    if not 0 <= number <= 255:
        raise ValueError("code table out of range")
    return bytes((Ctl.ESC, 0x74, number))


def feed_dots(dots: int) -> bytes:
    """ESC J n: print the buffer and feed ``dots`` dots (0 to 255)."""
    return bytes((Ctl.ESC, 0x4A, max(0, min(255, dots))))


def _qr_function(function: QrFunction, parameters: bytes) -> bytes:
    size = len(parameters) + 2
    return (
        bytes((Ctl.GS, 0x28, 0x6B))
        + size.to_bytes(2, "little")
        + bytes((QR_SYMBOL, function))
        + parameters
    )


def qr_code(data: bytes, module_dots: int, correction: QrCorrection) -> bytes:
    """GS ( k: select model 2 (fn 165), module size (fn 167), error correction (fn 169),
    store ``data`` (fn 180) and print the symbol (fn 181)."""
    if not 1 <= module_dots <= MAX_QR_MODULE_DOTS:
        raise ValueError("QR module size out of range")
    if not 0 < len(data) <= MAX_QR_DATA:
        raise ValueError("QR data length out of range")
    return (
        _qr_function(QrFunction.MODEL, bytes((QR_MODEL_2, 0)))
        + _qr_function(QrFunction.MODULE_SIZE, bytes((module_dots,)))
        + _qr_function(QrFunction.CORRECTION, bytes((correction,)))
        + _qr_function(QrFunction.STORE, b"\x30" + data)
        + _qr_function(QrFunction.PRINT, b"\x30")
    )


def feed_and_cut(feed_dots: int = 80, cut: Cut = Cut.PARTIAL) -> bytes:
    """GS V 66 n: feed ``feed_dots`` (so the ticket clears the cutter), then cut."""
    return bytes((Ctl.GS, 0x56, cut, max(0, min(255, feed_dots))))


def raster(
    rows: Sequence[bytes], width_bytes: int, scale: RasterScale = RasterScale.NORMAL
) -> bytes:
    """``GS v 0`` commands printing ``rows`` (each ``width_bytes`` long, MSB = leftmost
    dot, 1 = black), in bands of :data:`MAX_BAND_ROWS` rows."""
    if not 0 < width_bytes <= MAX_RASTER_WIDTH_BYTES:
        raise ValueError("raster width out of range")
    out = bytearray()
    for start in range(0, len(rows), MAX_BAND_ROWS):
        band = rows[start : start + MAX_BAND_ROWS]
        if any(len(row) != width_bytes for row in band):
            raise ValueError("every raster row must be width_bytes long")
        out += RASTER_PREFIX
        out += bytes((scale,))
        out += width_bytes.to_bytes(2, "little") + len(band).to_bytes(2, "little")
        out += b"".join(band)
    return bytes(out)


class StatusRequest(enum.IntEnum):
    """DLE EOT n: real-time status (answered even while the printer is busy)."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER = 4


def status_request(kind: StatusRequest) -> bytes:
    """DLE EOT n: ask for one real-time status byte."""
    return bytes((Ctl.DLE, Ctl.EOT, kind))


PAPER_NEAR_END_BITS = 0x0C
"""DLE EOT 4 answer: bits 2-3 set when the paper roll is near its end."""
PAPER_END_BITS = 0x60
"""DLE EOT 4 answer: bits 5-6 set when there is no paper."""
OFFLINE_BIT = 0x08
"""DLE EOT 1 answer: bit 3 set when the printer is offline."""
STATUS_FIXED_MASK = 0x93
STATUS_FIXED_VALUE = 0x12
"""Every status byte has bits 1 and 4 set and bits 0 and 7 clear."""


@dataclass(frozen=True)
class PrinterStatus:
    """What the admin screen shows about the printer."""

    online: bool
    paper: bool
    paper_near_end: bool = False
    detail: str = ""


def parse_status(printer: int, paper: int) -> PrinterStatus:
    """Status from the answers to DLE EOT 1 and DLE EOT 4."""
    for byte in (printer, paper):
        if byte & STATUS_FIXED_MASK != STATUS_FIXED_VALUE:
            return PrinterStatus(online=False, paper=False, detail="not an ESC/POS status byte")
    online = not printer & OFFLINE_BIT
    has_paper = not paper & PAPER_END_BITS
    near_end = bool(paper & PAPER_NEAR_END_BITS)
    detail = "ready" if online and has_paper else ("paper out" if not has_paper else "offline")
    return PrinterStatus(online, has_paper, near_end, detail)
