"""A simulated ESC/POS thermal printer that turns what it receives back into PNG pages.

It understands ESC @ (initialise), GS v 0 (raster bit image), LF, ESC d n (feed lines),
GS V (cut: the page ends) and answers DLE EOT n (real-time status) from its state, so tests
can take the paper out. Anything else is counted as unknown and skipped by one byte. The
decoder is written from the Epson command reference, independently of the kiosk's encoder.
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from simulators.devices.pty import PtyPair


class Byte(enum.IntEnum):
    LF = 0x0A
    DLE = 0x10
    EOT = 0x04
    ESC = 0x1B
    GS = 0x1D


STATUS_BASE = 0x12
"""Bits 1 and 4 are always set in an ESC/POS status byte."""
STATUS_OFFLINE = 0x08
STATUS_PAPER_END = 0x60
STATUS_PAPER_NEAR_END = 0x0C
LINE_DOTS = 30
"""Feed per LF, in dots (the default 1/6 inch at 180 dpi)."""


@dataclass
class Decoded:
    """Pages cut so far, the page being printed, and what was not understood."""

    pages: list[Image.Image] = field(default_factory=list)
    rows: list[bytes] = field(default_factory=list)
    width_bytes: int = 0
    status_requests: list[int] = field(default_factory=list)
    unknown: int = 0


_INVERT = bytes(255 - b for b in range(256))


def _page(rows: list[bytes], width_bytes: int) -> Image.Image:
    """Rows of dots (1 = black, MSB leftmost) as a 1-bit image (Pillow: 1 = white)."""
    width = max(1, width_bytes)
    packed = b"".join(row.ljust(width, b"\0")[:width] for row in rows) or bytes(width)
    height = max(1, len(rows))
    return Image.frombytes("1", (width * 8, height), packed.translate(_INVERT))


def decode_escpos(data: bytes, state: Decoded | None = None) -> tuple[Decoded, bytes]:
    """Decode complete commands of ``data``; return the state and the incomplete tail."""
    state = state or Decoded()
    i = 0
    while i < len(data):
        byte = data[i]
        rest = len(data) - i
        if byte == Byte.ESC:
            if rest < 2:
                break
            if data[i + 1] == 0x40:  # ESC @
                i += 2
                continue
            if data[i + 1] == 0x64:  # ESC d n
                if rest < 3:
                    break
                state.rows += [b""] * (data[i + 2] * LINE_DOTS)
                i += 3
                continue
        elif byte == Byte.GS:
            if rest < 2:
                break
            if data[i + 1] == 0x76:  # GS v 0 m xL xH yL yH
                if rest < 8:
                    break
                width = int.from_bytes(data[i + 4 : i + 6], "little")
                height = int.from_bytes(data[i + 6 : i + 8], "little")
                if rest < 8 + width * height:
                    break
                body = data[i + 8 : i + 8 + width * height]
                state.width_bytes = max(state.width_bytes, width)
                state.rows += [body[r * width : (r + 1) * width] for r in range(height)]
                i += 8 + width * height
                continue
            if data[i + 1] == 0x56:  # GS V m [n]
                if rest < 3:
                    break
                length = 4 if data[i + 2] in (65, 66) else 3
                if rest < length:
                    break
                state.pages.append(_page(state.rows, state.width_bytes))
                state.rows, state.width_bytes = [], 0
                i += length
                continue
        elif byte == Byte.DLE:
            if rest < 3:
                break
            if data[i + 1] == Byte.EOT:
                state.status_requests.append(data[i + 2])
                i += 3
                continue
        elif byte == Byte.LF:
            state.rows += [b""] * LINE_DOTS
            i += 1
            continue
        state.unknown += 1
        i += 1
    return state, data[i:]


class VirtualPrinter:
    """A printer on a pty; cut pages are kept as images and saved as PNG to ``out_dir``."""

    def __init__(self, out_dir: Path | str | None = None) -> None:
        self._pty = PtyPair()
        self.port = self._pty.port
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.online = True
        self.paper = True
        self.paper_near_end = False
        self.saved: list[Path] = []
        self._state = Decoded()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="virtual-printer", daemon=True)
        self._thread.start()

    @property
    def pages(self) -> list[Image.Image]:
        with self._cond:
            return list(self._state.pages)

    @property
    def unknown_bytes(self) -> int:
        return self._state.unknown

    def wait_for_pages(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self._state.pages) >= count, timeout)

    def _status(self, kind: int) -> int:
        if kind == 1:
            return STATUS_BASE | (0 if self.online else STATUS_OFFLINE)
        if kind == 4:
            return (
                STATUS_BASE
                | (STATUS_PAPER_END if not self.paper else 0)
                | (STATUS_PAPER_NEAR_END if self.paper_near_end else 0)
            )
        return STATUS_BASE

    def _serve(self) -> None:
        tail = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._pty.master], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(self._pty.master, 65536)
            except OSError:  # closed under us
                return
            with self._cond:
                before = len(self._state.pages)
                asked = len(self._state.status_requests)
                self._state, tail = decode_escpos(tail + chunk, self._state)
                answers = bytes(self._status(k) for k in self._state.status_requests[asked:])
                for page in self._state.pages[before:]:
                    self._save(page)
                self._cond.notify_all()
            if answers and self.online:
                os.write(self._pty.master, answers)

    def _save(self, page: Image.Image) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"ticket-{len(self.saved) + 1:03d}.png"
        page.save(path)
        self.saved.append(path)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        with contextlib.suppress(OSError):
            self._pty.close()

    def __enter__(self) -> VirtualPrinter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
