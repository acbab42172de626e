"""The ticket as one ESC/POS job: the printer's fonts where they can print the text.

Digits and ASCII are printer text (``ESC !``, ``GS !``, ``GS B``, centred by ``ESC a``);
the QR code is the printer's own symbol (``GS ( k``) where the profile says it has one.
Vietnamese with diacritics is printer text only where the profile names the printer's
CP1258 code table (``ESC t``); otherwise each such line is a small raster band
(:mod:`kiosk.devices.ticket_image`). Layout: hospital name, the big queue number, priority,
department and room, visit kind, a "go to counter N" box when BHYT must be verified, the
time, and a QR with the check-in id. No name and no ID number (docs/domain.md §4.5).
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

import segno

from kiosk.devices import escpos
from kiosk.devices.ticket_image import text_band
from kiosk.ticket import Ticket

CP1258 = "cp1258"


class TextSize(enum.Enum):
    """A line's size: (ESC ! print mode, GS ! width and height, dots per character)."""

    SMALL = (escpos.PrintMode.FONT_B, 1, 9)
    NORMAL = (escpos.PrintMode.FONT_A, 1, 12)
    DOUBLE = (escpos.PrintMode.FONT_A, 2, 12)
    NUMBER = (escpos.PrintMode.FONT_A, 6, 12)

    @property
    def mode(self) -> escpos.PrintMode:
        return self.value[0]

    @property
    def scale(self) -> int:
        return self.value[1]

    @property
    def char_dots(self) -> int:
        return self.value[2] * self.value[1]


@dataclass(frozen=True)
class PrinterProfile:
    """What the printer can do (``[printer]`` in the kiosk's configuration)."""

    width_dots: int = 576
    native_qr: bool = True
    """``GS ( k`` QR codes; without: the QR as a raster image."""
    vietnamese_code_table: int | None = None
    """``ESC t`` number of the printer's CP1258 (Vietnamese) table; ``None``: none."""


@dataclass(frozen=True)
class Line:
    """One line of the ticket, centred."""

    text: str
    size: TextSize = TextSize.NORMAL
    bold: bool = False
    inverted: bool = False


QR_MODULE_DOTS = 6
QR_RASTER_DOTS = 3
"""The raster QR's module in image dots; printed double (``GS v 0`` m = 3): 6 dots."""
BAND_GAP_DOTS = 8
SECTION_GAP_DOTS = 12
CUT_FEED_DOTS = 80


def _in_cp1258(text: str) -> bool:
    try:
        text.encode(CP1258)
    except UnicodeEncodeError:
        return False
    return True


def encode_cp1258(text: str) -> bytes | None:
    """``text`` in Windows-1258 (base letters precomposed where the table has them, tone
    marks combining), or ``None`` if a character is not in it."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        if _in_cp1258(char):
            out += char.encode(CP1258)
            continue
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], list(decomposed[1:])
        # Fold what the table has precomposed (â, ă, ê, ô, ơ, ư) into the base letter.
        for mark in list(marks):
            folded = unicodedata.normalize("NFC", base + mark)
            if len(folded) == 1 and _in_cp1258(folded):
                base = folded
                marks.remove(mark)
        if not _in_cp1258(base + "".join(marks)):
            return None
        out += (base + "".join(marks)).encode(CP1258)
    return bytes(out)


def _printer_text(text: str, profile: PrinterProfile) -> bytes | None:
    """``text`` as the printer's own characters, or ``None`` if it must be an image."""
    if text.isascii() and text.isprintable():
        return text.encode("ascii")
    if profile.vietnamese_code_table is not None:
        return encode_cp1258(text)
    return None


def _wrap(text: str, columns: int) -> list[str]:
    if len(text) <= columns:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and len(candidate) > columns:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line]


def _line(line: Line, profile: PrinterProfile) -> bytes:
    """Printer text (ESC !, GS !, GS B, LF) where it can be, else a ``GS v 0`` band."""
    if _printer_text(line.text, profile) is not None:
        mode = line.size.mode | (escpos.PrintMode.EMPHASIZED if line.bold else 0)
        out = escpos.print_mode(escpos.PrintMode(mode))
        out += escpos.character_size(line.size.scale, line.size.scale)
        out += escpos.reverse(True) if line.inverted else b""
        for part in _wrap(line.text, profile.width_dots // line.size.char_dots):
            out += (_printer_text(part, profile) or b"") + escpos.LINE_FEED
        return out + (escpos.reverse(False) if line.inverted else b"")
    double = line.size is TextSize.DOUBLE
    band = text_band(
        line.text,
        profile.width_dots // 2 if double else profile.width_dots,
        small=line.size is TextSize.SMALL,
        bold=line.bold,
        inverted=line.inverted,
    )
    scale = escpos.RasterScale.QUADRUPLE if double else escpos.RasterScale.NORMAL
    return escpos.raster(band.rows, band.width_bytes, scale) + escpos.feed_dots(BAND_GAP_DOTS)


def _qr(data: str, profile: PrinterProfile) -> bytes:
    """The printer's own QR code (GS ( k), or its modules as a raster image (GS v 0)."""
    if profile.native_qr:
        return escpos.qr_code(data.encode("ascii"), QR_MODULE_DOTS, escpos.QrCorrection.M)
    matrix = segno.make(data, error="m", micro=False).matrix
    width_bytes = (len(matrix) * QR_RASTER_DOTS + 7) // 8
    rows = []
    for modules in matrix:
        bits = "".join(("1" if dark else "0") * QR_RASTER_DOTS for dark in modules)
        row = int(bits.ljust(width_bytes * 8, "0"), 2).to_bytes(width_bytes, "big")
        rows += [row] * QR_RASTER_DOTS
    return escpos.raster(rows, width_bytes, escpos.RasterScale.QUADRUPLE)


def ticket_lines(ticket: Ticket, hospital_name: str = "") -> tuple[list[Line], list[Line]]:
    """The lines above the QR code and below it."""
    above: list[Line] = []
    if hospital_name:
        above.append(Line(hospital_name.upper(), bold=True))
    above += [
        Line("SỐ THỨ TỰ"),
        Line("QUEUE NUMBER"),
        Line(ticket.label, TextSize.NUMBER, bold=True),
    ]
    if ticket.priority:
        above += [Line("ƯU TIÊN", bold=True, inverted=True), Line("PRIORITY", bold=True)]
    above += [
        Line(ticket.department_vi, TextSize.DOUBLE, bold=True),
        Line(ticket.department_en),
        Line(f"Phòng {ticket.room}", TextSize.DOUBLE, bold=True),
        Line(f"Room {ticket.room}", bold=True),
        Line("Khám BHYT" if ticket.insured else "Khám dịch vụ"),
        Line("Health insurance" if ticket.insured else "Self-pay"),
    ]
    if ticket.verify_insurance_at is not None:
        counter = ticket.verify_insurance_at
        above += [
            Line(f"Đến quầy số {counter} kiểm tra BHYT trước khi khám", bold=True, inverted=True),
            Line(f"Have BHYT checked at counter {counter} first", TextSize.SMALL),
        ]
    above.append(Line(ticket.issued_at.strftime("%H:%M  %d/%m/%Y"), bold=True))
    return above, [Line("Vui lòng giữ phiếu đến khi khám xong.", TextSize.SMALL)]


def ticket_job(ticket: Ticket, profile: PrinterProfile, hospital_name: str = "") -> bytes:
    """The whole job: ESC @, the lines, the QR code, feed and cut (GS V)."""
    above, below = ticket_lines(ticket, hospital_name)
    out = escpos.INITIALIZE
    if profile.vietnamese_code_table is not None:
        out += escpos.code_table(profile.vietnamese_code_table)
    out += escpos.justify(escpos.Justify.CENTER)
    out += b"".join(_line(line, profile) for line in above)
    out += escpos.feed_dots(SECTION_GAP_DOTS) + _qr(ticket.checkin_id, profile)
    out += escpos.feed_dots(SECTION_GAP_DOTS) + b"".join(_line(line, profile) for line in below)
    return out + escpos.feed_and_cut(CUT_FEED_DOTS)
