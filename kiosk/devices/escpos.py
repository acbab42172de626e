"""ESC/POS commands for a thermal receipt printer (Epson ESC/POS command reference).

Only what a raster ticket needs: initialise, print a raster bit image (``GS v 0``), feed and
cut, and the real-time status request (``DLE EOT``). Vietnamese text is printed as an image
because printer code pages for Vietnamese are unreliable (docs/domain.md §4.5).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ESC = 0x1B
GS = 0x1D
DLE = 0x10
EOT = 0x04

INITIALIZE = bytes((ESC, 0x40))
"""ESC @: clear the buffer and reset the modes."""
RASTER_PREFIX = bytes((GS, 0x76, 0x30))
"""GS v 0 m xL xH yL yH d1...dk: print a raster bit image."""
RASTER_NORMAL = 0
MAX_BAND_ROWS = 256
"""Rows sent per GS v 0 command: small bands fit every printer's receive buffer."""
MAX_RASTER_WIDTH_BYTES = 0xFFFF


class Cut(enum.IntEnum):
    """GS V m (n): function B, feed n dots then cut."""

    FULL = 65
    PARTIAL = 66


def feed_and_cut(feed_dots: int = 80, cut: Cut = Cut.PARTIAL) -> bytes:
    """GS V 66 n: feed ``feed_dots`` (so the ticket clears the cutter), then cut."""
    return bytes((GS, 0x56, cut, max(0, min(255, feed_dots))))


def raster(rows: list[bytes], width_bytes: int) -> bytes:
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
        out += bytes((RASTER_NORMAL,))
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
    return bytes((DLE, EOT, kind))


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
