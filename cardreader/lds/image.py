"""Decode a DG2 face (JPEG or JPEG 2000) to PNG for display; the only module using Pillow.

Bounded: only the JPEG and JPEG 2000 decoders are enabled, the image size is read from
the header and refused above :data:`MAX_DIMENSION` before any pixel is decoded, and every
decoder failure becomes :class:`ParseError`. The result carries no Pillow type.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from PIL import Image

from cardreader.errors import ParseError
from cardreader.lds.dg2 import ImageFormat, detect_image_format

MAX_DIMENSION = 4000
"""Faces wider or taller than this are refused (ICAO portraits are about 400 × 500)."""

PILLOW_FORMATS: Mapping[ImageFormat, str] = MappingProxyType(
    {ImageFormat.JPEG: "JPEG", ImageFormat.JPEG2000: "JPEG2000"}
)
"""The one Pillow decoder tried for each detected format."""
PNG_COMPRESS_LEVEL = 1
"""The PNG only carries pixels to the screen: fast zlib level (about 4× faster than the
default 6 on a 413 × 531 face, 11 % larger)."""
DISPLAY_MODES = ("L", "RGB")
"""Modes kept as they are; anything else (CMYK, YCbCr, 16-bit grey, alpha) becomes RGB."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A face ready to show: its size, its source format and the PNG encoding of its pixels."""

    width: int
    height: int
    mode: str
    source_format: ImageFormat
    png: bytes = field(repr=False)


def decode_face(image: bytes) -> DecodedImage:
    """Decode a JPEG or JPEG 2000 face image and re-encode it as PNG."""
    source_format = detect_image_format(image)
    if source_format is None:
        raise ParseError("the face image is neither JPEG nor JPEG 2000")
    try:
        with Image.open(io.BytesIO(image), formats=[PILLOW_FORMATS[source_format]]) as opened:
            width, height = opened.size
            if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
                raise ParseError(
                    f"face image of {width}×{height} pixels exceeds {MAX_DIMENSION}×{MAX_DIMENSION}"
                )
            opened.load()
            shown = opened if opened.mode in DISPLAY_MODES else opened.convert("RGB")
            out = io.BytesIO()
            shown.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
            mode = shown.mode
    except ParseError:
        raise
    except Exception as exc:
        # Pillow's decoders raise a wide, undocumented range of exceptions on malformed input
        # (OSError, ValueError, SyntaxError, struct.error, EOFError, DecompressionBombError...).
        raise ParseError(f"the {source_format.name} face image cannot be decoded: {exc}") from exc
    return DecodedImage(width, height, mode, source_format, out.getvalue())
