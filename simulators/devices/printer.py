"""A simulated ESC/POS thermal printer: it takes bytes at its baud rate and renders pages.

Like a serial printer with a small receive buffer, it reads the pseudo-terminal no faster
than the line carries (``baudrate / 10`` bytes per second: 8 data bits, a start and a stop
bit), so a long job backs up in the pty and the sender's writes block as on a real link.

It understands ESC @ (initialise), ESC t (code table), ESC a (justification), ESC !
(print mode), ESC E (emphasis), GS ! (character size), GS B (reverse), LF, ESC J and
ESC d (print and feed), GS ( k for QR codes (model, module size, error correction, store,
print), GS v 0 (raster bit image), GS V (cut: the page ends), and answers DLE EOT n
(real-time status) from its state, so tests can take the paper out. Anything else is
counted as unknown and skipped by one byte. Each cut page is an image (text in a
monospaced font on Font A's 12×24 and Font B's 9×17 cells, QR codes drawn with segno) and
what it was made of: its text lines, QR payloads and raster images, and its bytes. The
decoder is written from the Epson command reference, independently of the kiosk's encoder.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import select
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from simulators.devices.pty import PtyPair


class Byte(enum.IntEnum):
    EOT = 0x04
    LF = 0x0A
    DLE = 0x10
    ESC = 0x1B
    GS = 0x1D


STATUS_BASE = 0x12
"""Bits 1 and 4 are always set in an ESC/POS status byte."""
STATUS_OFFLINE = 0x08
STATUS_PAPER_END = 0x60
STATUS_PAPER_NEAR_END = 0x0C
LINE_DOTS = 30
"""Feed per LF, in dots (the default 1/6 inch at 180 dpi)."""
DEFAULT_BAUDRATE = 19200
"""As the kiosk's ``[printer] baudrate`` default (kiosk/config.py)."""
BITS_PER_BYTE = 10
CODE_TABLES = {0: "cp437", 16: "cp1252", 52: "cp1258"}
"""ESC t numbers of an Epson TM printer: PC437, WPC1252, WPC1258 (Vietnamese)."""
FONT_CELLS = {0: (12, 24), 1: (9, 17)}
"""Font A and Font B: character cell (width, height) in dots."""
MONO_FONTS = {
    False: Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    True: Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
}
QR_LEVELS = {48: "l", 49: "m", 50: "q", 51: "h"}


class Mode(enum.IntFlag):
    """ESC ! n bits."""

    FONT_B = 0x01
    EMPHASIZED = 0x08
    DOUBLE_HEIGHT = 0x10
    DOUBLE_WIDTH = 0x20


@dataclass(frozen=True)
class Raster:
    """One GS v 0 image: its scale byte m, row width and rows (1 = black, MSB leftmost)."""

    scale: int
    width_bytes: int
    rows: tuple[bytes, ...]


@dataclass(frozen=True)
class Page:
    """A cut page: its image, the printed text lines (decoded), QR payloads, raster images
    and the bytes it was printed from (real-time status requests left out)."""

    image: Image.Image
    lines: tuple[str, ...]
    qr_codes: tuple[bytes, ...]
    rasters: tuple[Raster, ...]
    data: bytes


@dataclass
class Decoded:
    """Pages cut so far, the page being printed, the printer's modes, and what was not
    understood."""

    width_dots: int = 576
    pages: list[Page] = field(default_factory=list)
    strips: list[Image.Image] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    qr_codes: list[bytes] = field(default_factory=list)
    rasters: list[Raster] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    line: list[tuple[str, int, int, int, bool]] = field(default_factory=list)
    """Characters waiting for LF: (character, ESC ! mode, width, height, reverse)."""
    mode: int = 0
    size: tuple[int, int] = (1, 1)
    reverse: bool = False
    justify: int = 0
    code_table: int = 0
    qr_module: int = 3
    qr_level: int = 48
    qr_data: bytes = b""
    cut: bool = False
    status_requests: list[int] = field(default_factory=list)
    unknown: int = 0

    def reset(self) -> None:
        """ESC @: modes back to their power-on values, the line buffer cleared."""
        self.line = []
        self.mode, self.size, self.reverse, self.justify, self.code_table = 0, (1, 1), False, 0, 0


@functools.cache
def _mono(bold: bool, height: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = MONO_FONTS[bold]
    if path.exists():
        return ImageFont.truetype(str(path), height)
    return ImageFont.load_default(height)


def _place(state: Decoded, image: Image.Image) -> None:
    """Put ``image`` (mode L, 255 = black) on the paper, justified."""
    strip = Image.new("L", (state.width_dots, image.height), 0)
    free = max(0, state.width_dots - image.width)
    strip.paste(image, ({0: 0, 1: free // 2, 2: free}.get(state.justify, 0), 0))
    state.strips.append(strip)


def _feed(state: Decoded, dots: int) -> None:
    if dots > 0:
        state.strips.append(Image.new("L", (state.width_dots, dots), 0))


def _print_line(state: Decoded, feed: int | None) -> None:
    """Print the line buffer (if any) and feed ``feed`` dots (None: the line's height)."""
    if state.line:
        cells = []
        groups: list[tuple[str, int, int, int, bool]] = []
        for char, *look in state.line:  # a combining mark (CP1258 tones) joins its letter
            if groups and unicodedata.combining(char):
                base, *kept = groups[-1]
                groups[-1] = (unicodedata.normalize("NFC", base + char), *kept)  # type: ignore[assignment]
            else:
                groups.append((char, *look))  # type: ignore[arg-type]
        for char, mode, width, height, reverse in groups:
            cell_w, cell_h = FONT_CELLS[mode & Mode.FONT_B]
            cell = Image.new("L", (cell_w, cell_h), 0)
            face = _mono(bool(mode & Mode.EMPHASIZED), cell_h * 4 // 5)
            ImageDraw.Draw(cell).text((cell_w // 2, cell_h - 3), char, 255, face, anchor="ms")
            scale_w = width * (2 if mode & Mode.DOUBLE_WIDTH else 1)
            scale_h = height * (2 if mode & Mode.DOUBLE_HEIGHT else 1)
            cell = cell.resize((cell_w * scale_w, cell_h * scale_h), Image.Resampling.NEAREST)
            cells.append(cell.point(lambda v: 255 - v) if reverse else cell)
        height = max(cell.height for cell in cells)
        image = Image.new("L", (sum(cell.width for cell in cells), height), 0)
        x = 0
        for cell in cells:  # characters of a line stand on its baseline
            image.paste(cell, (x, height - cell.height))
            x += cell.width
        _place(state, image)
        state.lines.append(
            unicodedata.normalize("NFC", "".join(char for char, *_ in state.line)).strip()
        )
        state.line = []
        _feed(state, (LINE_DOTS - height if feed is None else feed) if height < LINE_DOTS else 0)
    elif feed is not None:
        _feed(state, feed)
    else:
        _feed(state, LINE_DOTS)


def _qr(state: Decoded) -> None:
    """GS ( k fn 181: print the stored symbol."""
    code = segno.make(state.qr_data, error=QR_LEVELS.get(state.qr_level, "m"), micro=False)
    size = len(code.matrix) * state.qr_module
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    m = state.qr_module
    for row, modules in enumerate(code.matrix):
        for col, dark in enumerate(modules):
            if dark:
                draw.rectangle((col * m, row * m, col * m + m - 1, row * m + m - 1), fill=255)
    _place(state, image)
    state.qr_codes.append(state.qr_data)


def _raster(state: Decoded, raster: Raster) -> None:
    width = raster.width_bytes * 8
    packed = b"".join(raster.rows)
    image = Image.frombytes("1", (width, len(raster.rows)), packed).convert("L")
    scale_w, scale_h = 1 + (raster.scale & 1), 1 + (raster.scale >> 1 & 1)
    image = image.resize((width * scale_w, image.height * scale_h), Image.Resampling.NEAREST)
    _place(state, image)
    state.rasters.append(raster)


def _cut(state: Decoded) -> None:
    if state.line:
        _print_line(state, 0)
    height = max(1, sum(strip.height for strip in state.strips))
    paper = Image.new("L", (state.width_dots, height), 0)
    y = 0
    for strip in state.strips:
        paper.paste(strip, (0, y))
        y += strip.height
    image = paper.point(lambda v: 0 if v else 255).convert("1")  # black dots on white
    state.pages.append(
        Page(
            image,
            tuple(state.lines),
            tuple(state.qr_codes),
            tuple(state.rasters),
            bytes(state.data),
        )
    )
    state.strips, state.lines, state.qr_codes, state.rasters = [], [], [], []
    state.data, state.cut = bytearray(), False


def _text(state: Decoded, byte: int) -> None:
    char = bytes((byte,)).decode(CODE_TABLES.get(state.code_table, "cp437"), "replace")
    width, height = state.size
    state.line.append((char, state.mode, width, height, state.reverse))


def _command(state: Decoded, data: bytes, i: int) -> int | None:
    """Execute the command at ``data[i]``; its length, 0 if unknown, None if incomplete."""
    rest = len(data) - i
    byte = data[i]
    if byte == Byte.LF:
        _print_line(state, None)
        return 1
    if byte >= 0x20:
        _text(state, byte)
        return 1
    if byte in (Byte.ESC, Byte.GS, Byte.DLE) and rest < 3:
        return None if rest < 2 or data[i + 1] != 0x40 or byte != Byte.ESC else 2
    op, n = data[i + 1], data[i + 2] if rest >= 3 else 0
    if byte == Byte.ESC:
        if op == 0x40:  # ESC @
            state.reset()
            return 2
        simple = {0x74: "code_table", 0x61: "justify", 0x21: "mode"}
        if op in simple:  # ESC t n, ESC a n, ESC ! n
            setattr(state, simple[op], n)
            return 3
        if op == 0x45:  # ESC E n
            state.mode = state.mode | Mode.EMPHASIZED if n & 1 else state.mode & ~Mode.EMPHASIZED
            return 3
        if op == 0x4A:  # ESC J n
            _print_line(state, n)
            return 3
        if op == 0x64:  # ESC d n
            _print_line(state, n * LINE_DOTS)
            return 3
    elif byte == Byte.GS:
        if op == 0x21:  # GS ! n
            state.size = ((n >> 4) + 1, (n & 0x0F) + 1)
            return 3
        if op == 0x42:  # GS B n
            state.reverse = bool(n & 1)
            return 3
        if op == 0x56:  # GS V m [n]
            length = 4 if n in (65, 66) else 3
            if rest < length:
                return None
            state.cut = True  # the page ends once this command is in its data
            return length
        if op == 0x76:  # GS v 0 m xL xH yL yH d1...dk
            if rest < 8:
                return None
            width = int.from_bytes(data[i + 4 : i + 6], "little")
            height = int.from_bytes(data[i + 6 : i + 8], "little")
            if rest < 8 + width * height:
                return None
            body = data[i + 8 : i + 8 + width * height]
            rows = tuple(body[r * width : (r + 1) * width] for r in range(height))
            _raster(state, Raster(data[i + 3] & 3, width, rows))
            return 8 + width * height
        if op == 0x28 and n == 0x6B:  # GS ( k pL pH cn fn ...
            if rest < 7:
                return None
            size = int.from_bytes(data[i + 3 : i + 5], "little")
            if rest < 5 + size:
                return None
            symbol, function, body = data[i + 5], data[i + 6], data[i + 7 : i + 5 + size]
            if symbol == 49 and function == 67 and body:  # fn 167: module size
                state.qr_module = body[0]
            elif symbol == 49 and function == 69 and body:  # fn 169: error correction
                state.qr_level = body[0]
            elif symbol == 49 and function == 80:  # fn 180: store (m = 48, then the data)
                state.qr_data = body[1:]
            elif symbol == 49 and function == 81:  # fn 181: print
                _qr(state)
            return 5 + size
    elif byte == Byte.DLE and op == Byte.EOT:
        state.status_requests.append(n)
        return 3
    return 0


def decode_escpos(data: bytes, state: Decoded | None = None) -> tuple[Decoded, bytes]:
    """Decode complete commands of ``data``; return the state and the incomplete tail."""
    state = state or Decoded()
    i = 0
    while i < len(data):
        length = _command(state, data, i)
        if length is None:
            break
        if length == 0:
            state.unknown += 1
            length = 1
        elif data[i] != Byte.DLE:
            state.data += data[i : i + length]
        if state.cut:
            _cut(state)
        i += length
    return state, data[i:]


class VirtualPrinter:
    """A printer on a pty taking ``baudrate / 10`` bytes a second; cut pages are kept and
    saved as PNG to ``out_dir``."""

    def __init__(
        self,
        out_dir: Path | str | None = None,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        width_dots: int = 576,
    ) -> None:
        if baudrate <= 0:
            raise ValueError("baudrate must be positive")
        self._pty = PtyPair()
        self.port = self._pty.port
        self.baudrate = baudrate
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.online = True
        self.paper = True
        self.paper_near_end = False
        self.saved: list[Path] = []
        self._state = Decoded(width_dots=width_dots)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="virtual-printer", daemon=True)
        self._thread.start()

    @property
    def bytes_per_s(self) -> float:
        return self.baudrate / BITS_PER_BYTE

    @property
    def printed(self) -> list[Page]:
        """Every page cut so far."""
        with self._cond:
            return list(self._state.pages)

    @property
    def pages(self) -> list[Image.Image]:
        """The image of every page cut so far."""
        return [page.image for page in self.printed]

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
        chunk_size = max(1, min(4096, round(self.bytes_per_s / 100)))  # 10 ms of the line
        line_free_at = time.monotonic()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._pty.master], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(self._pty.master, chunk_size)
            except OSError:  # closed under us
                return
            # The chunk has arrived once the line has carried it, after what came before.
            line_free_at = max(line_free_at, time.monotonic()) + len(chunk) / self.bytes_per_s
            delay = line_free_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            with self._cond:
                before = len(self._state.pages)
                asked = len(self._state.status_requests)
                self._state, tail = decode_escpos(tail + chunk, self._state)
                answers = bytes(self._status(k) for k in self._state.status_requests[asked:])
                for page in self._state.pages[before:]:
                    self._save(page.image)
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
