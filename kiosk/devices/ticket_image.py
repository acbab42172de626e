"""The ticket as a 1-bit raster image (Pillow), and the image as printer rows.

The only kiosk module that imports Pillow. Layout for an 80 mm (576-dot) or 58 mm
(384-dot) roll: hospital name, the big queue number, department and room, visit kind, a
"go to counter N" box when BHYT must be verified, the time, and a QR with the check-in id.
No name and no ID number (docs/domain.md §4.5).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from kiosk.ticket import Ticket

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
FONT_FILES = {
    False: ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    True: ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
"""Fonts with Vietnamese coverage, first found wins (fonts-noto-core, fonts-dejavu-core)."""
MARGIN = 16
QR_MODULE_DOTS = 6
WHITE, BLACK = 1, 0

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def font(size: int, bold: bool = False) -> Font:
    """Noto Sans (or DejaVu Sans) at ``size`` pixels; Pillow's own font as a last resort."""
    for directory in FONT_DIRS:
        for name in FONT_FILES[bold]:
            path = directory / name
            if path.exists():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


class _Canvas:
    """A growing ticket: lines are appended top to bottom, then the image is cropped."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.image = Image.new("1", (width, 2000), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN

    def text(self, text: str, size: int, *, bold: bool = False, inverted: bool = False) -> None:
        """``text`` centred and wrapped to the width; ``inverted``: white on one black box."""
        face = font(size, bold)
        pad = 10 if inverted else 0
        lines = []
        for line in _wrap(text, face, self.width - 2 * (MARGIN + pad)):
            left, top, right, bottom = (
                round(v) for v in self.draw.textbbox((0, 0), line, font=face)
            )
            lines.append((line, left, top, right - left, bottom - top))
        gap = max(6, size // 5)
        height = sum(h for *_, h in lines) + gap * (len(lines) - 1)
        if inverted:
            self.draw.rectangle(
                (MARGIN, self.y, self.width - MARGIN, self.y + height + 2 * pad), fill=BLACK
            )
        y = self.y + pad
        for line, left, top, width, line_height in lines:
            x = (self.width - width) // 2 - left
            self.draw.text((x, y - top), line, font=face, fill=WHITE if inverted else BLACK)
            y += line_height + gap
        self.y += height + 2 * pad + gap

    def space(self, dots: int) -> None:
        self.y += dots

    def rule(self) -> None:
        self.draw.line((MARGIN, self.y, self.width - MARGIN, self.y), fill=BLACK, width=2)
        self.y += 12

    def qr(self, data: str) -> None:
        code = segno.make(data, error="m", micro=False)
        matrix: Sequence[bytearray] = code.matrix
        size = len(matrix) * QR_MODULE_DOTS
        left = (self.width - size) // 2
        for row, modules in enumerate(matrix):
            for col, dark in enumerate(modules):
                if dark:
                    x, y = left + col * QR_MODULE_DOTS, self.y + row * QR_MODULE_DOTS
                    self.draw.rectangle(
                        (x, y, x + QR_MODULE_DOTS - 1, y + QR_MODULE_DOTS - 1), fill=BLACK
                    )
        self.y += size + 12

    def finish(self) -> Image.Image:
        return self.image.crop((0, 0, self.width, self.y + MARGIN))


def _wrap(text: str, face: Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and face.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def render_ticket(ticket: Ticket, width: int = 576, hospital_name: str = "") -> Image.Image:
    """The ticket as a 1-bit image ``width`` dots wide."""
    scale = width / 576
    canvas = _Canvas(width)

    def size(points: int) -> int:
        return max(14, round(points * scale))

    if hospital_name:
        canvas.text(hospital_name.upper(), size(30), bold=True)
        canvas.rule()
    canvas.text("SỐ THỨ TỰ · QUEUE NUMBER", size(28))
    canvas.text(ticket.label, size(190), bold=True)
    canvas.space(8)
    if ticket.priority:
        canvas.text("ƯU TIÊN · PRIORITY", size(34), bold=True, inverted=True)
        canvas.space(6)
    canvas.text(ticket.department_vi, size(46), bold=True)
    canvas.text(ticket.department_en, size(28))
    canvas.text(f"Phòng · Room {ticket.room}", size(40), bold=True)
    canvas.space(6)
    kind = "Khám BHYT · Health insurance" if ticket.insured else "Khám dịch vụ · Self-pay"
    canvas.text(kind, size(28))
    if ticket.verify_insurance_at is not None:
        canvas.space(10)
        canvas.text(
            f"Đến quầy số {ticket.verify_insurance_at} kiểm tra BHYT trước khi khám",
            size(30),
            bold=True,
            inverted=True,
        )
        canvas.text(f"Have BHYT checked at counter {ticket.verify_insurance_at} first", size(24))
    canvas.space(6)
    canvas.rule()
    canvas.text(ticket.issued_at.strftime("%H:%M  %d/%m/%Y"), size(30))
    canvas.qr(ticket.checkin_id)
    canvas.text("Vui lòng giữ phiếu đến khi khám xong.", size(24))
    return canvas.finish()


def raster_rows(image: Image.Image) -> tuple[list[bytes], int]:
    """The image as printer rows (1 = black dot, MSB leftmost) and the row width in bytes."""
    mono = image.convert("1")
    width_bytes = (mono.width + 7) // 8
    padded = Image.new("1", (width_bytes * 8, mono.height), WHITE)
    padded.paste(mono, (0, 0))
    # Pillow packs mode "1" rows MSB first with 1 = white: invert for the printer.
    data = padded.tobytes()
    rows = [
        bytes(b ^ 0xFF for b in data[i * width_bytes : (i + 1) * width_bytes])
        for i in range(mono.height)
    ]
    return rows, width_bytes


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
