"""Lines of text the printer's fonts cannot print, as small 1-bit raster bands (Pillow).

The only kiosk module that imports Pillow. A band is one line of Vietnamese (wrapped to
the width it may take), drawn with Noto Sans at the height of the printer's own font
(Font A, 24 dots; Font B, 17 dots), cropped to its ink and sent with ``GS v 0``; the printer
centres it (``ESC a``) and scales it where the line is double size (``GS v 0`` m = 3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

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
FONT_PIXELS = {False: 22, True: 16}
"""Pixel size of the band's font: Font A's 24-dot cell, or Font B's 17-dot cell (small)."""
INVERTED_PAD = 4
"""Dots of black around white text (like ``GS B`` reverse printing)."""
LINE_GAP = 4

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


@dataclass(frozen=True)
class Band:
    """Raster rows (1 = black dot, MSB leftmost), each ``width_bytes`` long."""

    rows: tuple[bytes, ...]
    width_bytes: int


def _wrap(text: str, face: Font, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and face.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line]


def text_band(
    text: str, max_width: int, *, small: bool = False, bold: bool = False, inverted: bool = False
) -> Band:
    """``text`` wrapped to ``max_width`` dots, each line centred, as one band cropped to
    its ink; ``inverted``: white on a black box :data:`INVERTED_PAD` dots wider."""
    face = font(FONT_PIXELS[small], bold)
    pad = INVERTED_PAD if inverted else 0
    lines = _wrap(text, face, max_width - 2 * pad)
    ascent, descent = face.getmetrics() if isinstance(face, ImageFont.FreeTypeFont) else (12, 4)
    line_height = ascent + descent
    widths = [round(face.getlength(line)) for line in lines]
    width = min(max_width - 2 * pad, max(widths))
    image = Image.new("L", (width, len(lines) * (line_height + LINE_GAP)), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: 1-bit dots
    for number, (line, line_width) in enumerate(zip(lines, widths, strict=True)):
        draw.text(((width - line_width) // 2, number * (line_height + LINE_GAP)), line, 255, face)
    box = image.getbbox()  # the ink, 255 on 0
    if box is not None:
        image = image.crop((0, box[1], width, box[3]))
    if not inverted:
        return _band(image)
    boxed = Image.new("L", (image.width + 2 * pad, image.height + 2 * pad), 255)
    boxed.paste(image.point(lambda v: 255 - v), (pad, pad))
    return _band(boxed)


def _band(ink: Image.Image) -> Band:
    """Rows of the dots that are not 0 in ``ink`` (mode L)."""
    width_bytes = (ink.width + 7) // 8
    padded = Image.new("L", (width_bytes * 8, ink.height), 0)
    padded.paste(ink, (0, 0))
    # Mode "1" packs rows MSB first, a set bit for each dot that is not 0: black dots.
    data = padded.point(lambda v: 255 if v else 0).convert("1").tobytes()
    rows = tuple(data[i * width_bytes : (i + 1) * width_bytes] for i in range(ink.height))
    return Band(rows, width_bytes)
