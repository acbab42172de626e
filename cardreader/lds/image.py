"""Read a DG2 face's header (JPEG or JPEG 2000), decode it for display, or to PNG or JPEG
for saving; the only module using Pillow.

A verified read returns the face as the chip holds it with its header read
(:func:`inspect_face`: format and size checked, no pixel decoded); decoding it is the
displaying application's step (:func:`decode_face`), so a read that only stores or forwards
the signed image never pays for it (issue #16).

For display the face is handed on as an image file Qt decodes without a re-encoding here
(issue #16): the chip's own JPEG when its pixels need no conversion, else the decoded pixels
as binary PGM/PPM (Netpbm: a short header, then the raw grey or RGB samples).

A JPEG 2000 face is decoded for display at the resolution the kiosk needs: reduced by the
largest power of two (a JPEG 2000 resolution level, so OpenJPEG skips the finer ones) that
keeps it at least twice :data:`DISPLAY_SIZE` in both dimensions; a face below twice that
size (the usual ICAO portrait) is decoded in full. Its own size is still reported. A
codestream with fewer resolution levels than that reduction is decoded in full, and a
failure there refuses the image. A JPEG face shown as the chip holds it is decoded only to
check it, at libjpeg's 1/8 scale (its inverse DCT then takes the DC coefficient only;
every entropy-coded segment is still Huffman-decoded, ITU-T T.81 §F.2, so truncation and
corrupt data are still refused). Faces saved as PNG or JPEG are always decoded in full.

Bounded: only the JPEG and JPEG 2000 decoders are enabled, the image size is read from
the header and refused above :data:`MAX_DIMENSION` before any pixel is decoded, and every
decoder failure becomes :class:`ParseError`. The result carries no Pillow type.
"""

from __future__ import annotations

import enum
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from PIL import Image

from cardreader.errors import ParseError
from cardreader.lds.dg2 import ImageFormat, detect_image_format

MAX_DIMENSION = 4000
"""Faces wider or taller than this are refused (ICAO portraits are about 400 × 500)."""
DISPLAY_SIZE = (240, 320)
"""Width and height in pixels of the box the kiosk shows the face in."""

PILLOW_FORMATS: Mapping[ImageFormat, str] = MappingProxyType(
    {ImageFormat.JPEG: "JPEG", ImageFormat.JPEG2000: "JPEG2000"}
)
"""The one Pillow decoder tried for each detected format."""
DISPLAY_MODES = ("L", "RGB")
"""Modes kept as they are; anything else (CMYK, YCbCr, 16-bit grey, alpha) becomes RGB."""


@dataclass(frozen=True, slots=True)
class FaceImage:
    """A face image as the chip holds it: its header read and bounded, no pixel decoded."""

    width: int
    height: int
    source_format: ImageFormat
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A face ready to show: its size, its source format and ``display``, an image file of
    it (the chip's JPEG, or PGM/PPM pixels, a JPEG 2000 face maybe reduced: see above)."""

    width: int
    height: int
    mode: str
    source_format: ImageFormat
    display: bytes = field(repr=False)


class OutputFormat(enum.Enum):
    """What a decoded face is encoded as: Netpbm for display, PNG or JPEG for saving."""

    NETPBM = "PPM"
    """Pillow's PPM writer: P5 (PGM) for grey, P6 (PPM) for RGB."""
    PNG = "PNG"
    JPEG = "JPEG"


JPEG_QUALITY = 92
"""Quality of a JPEG 2000 face saved as JPEG (a JPEG face is saved as the chip holds it)."""


@dataclass(frozen=True, slots=True)
class _Encoded:
    width: int
    height: int
    mode: str
    source_format: ImageFormat
    data: bytes = field(repr=False)


def _open(image: bytes, source_format: ImageFormat) -> Image.Image:
    """``Image.open``, a header claiming an image too big for Pillow's bound raising its
    decompression-bomb warning as an error instead of warning (caught as any other)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(image), formats=[PILLOW_FORMATS[source_format]])


def _source_format(image: bytes) -> ImageFormat:
    source_format = detect_image_format(image)
    if source_format is None:
        raise ParseError("the face image is neither JPEG nor JPEG 2000")
    return source_format


def _bounded_size(opened: Image.Image) -> tuple[int, int]:
    """The image's size from its header, refused above :data:`MAX_DIMENSION`."""
    width, height = opened.size
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise ParseError(
            f"face image of {width}×{height} pixels exceeds {MAX_DIMENSION}×{MAX_DIMENSION}"
        )
    return width, height


def inspect_face(image: bytes) -> FaceImage:
    """The face ``image`` with its format and size read from its header, bounded; no pixel
    is decoded, so a corrupt image body is found only by :func:`decode_face`."""
    source_format = _source_format(image)
    try:
        with _open(image, source_format) as opened:
            width, height = _bounded_size(opened)
    except ParseError:
        raise
    except Exception as exc:  # Pillow's header parsers: see _decode
        raise ParseError(
            f"the {source_format.name} face image has no readable header: {exc}"
        ) from exc
    return FaceImage(width, height, source_format, image)


class _ReducedDecodeError(ParseError):
    """A JPEG 2000 face that did not decode reduced (see the module docstring)."""


def display_reduction(width: int, height: int) -> int:
    """The JPEG 2000 reduction for display of a ``width`` × ``height`` face: the largest
    ``k`` whose ``2**k``-fold reduction keeps it at least twice :data:`DISPLAY_SIZE`."""
    shown_width, shown_height = DISPLAY_SIZE
    k = 0
    while width >> (k + 1) >= 2 * shown_width and height >> (k + 1) >= 2 * shown_height:
        k += 1
    return k


def _decode(
    image: bytes, output: OutputFormat, keep_jpeg: bool = False, reduce: bool = False
) -> _Encoded:
    """Decode a JPEG or JPEG 2000 face image, bounded, and encode it as ``output``;
    ``keep_jpeg``: a JPEG whose pixels need no conversion is returned as it is instead;
    ``reduce``: a JPEG 2000 face is decoded at :func:`display_reduction`."""
    source_format = _source_format(image)
    reduction = 0
    try:
        with _open(image, source_format) as opened:
            width, height = _bounded_size(opened)
            if reduce and source_format is ImageFormat.JPEG2000:
                reduction = display_reduction(width, height)
                opened.reduce = reduction  # type: ignore[assignment,method-assign]
            if keep_jpeg and source_format is ImageFormat.JPEG and opened.mode in DISPLAY_MODES:
                opened.draft(opened.mode, (1, 1))  # only checked: see the module docstring
            opened.load()
            shown = opened if opened.mode in DISPLAY_MODES else opened.convert("RGB")
            mode = shown.mode
            if keep_jpeg and source_format is ImageFormat.JPEG and shown is opened:
                return _Encoded(width, height, mode, source_format, image)
            out = io.BytesIO()
            if output is OutputFormat.JPEG:
                shown.save(out, format="JPEG", quality=JPEG_QUALITY)
            else:
                shown.save(out, format=output.value)
    except ParseError:
        raise
    except Exception as exc:
        # Pillow's decoders raise a wide, undocumented range of exceptions on malformed input
        # (OSError, ValueError, SyntaxError, struct.error, EOFError, DecompressionBombError...).
        error = _ReducedDecodeError if reduction else ParseError
        raise error(f"the {source_format.name} face image cannot be decoded: {exc}") from exc
    return _Encoded(width, height, mode, source_format, out.getvalue())


def decode_face(image: bytes) -> DecodedImage:
    """Decode a JPEG or JPEG 2000 face image for display (see the module docstring)."""
    try:
        encoded = _decode(image, OutputFormat.NETPBM, keep_jpeg=True, reduce=True)
    except _ReducedDecodeError:
        encoded = _decode(image, OutputFormat.NETPBM, keep_jpeg=True)
    return DecodedImage(
        encoded.width, encoded.height, encoded.mode, encoded.source_format, encoded.data
    )


def face_as_png(image: bytes) -> bytes:
    """The face decoded and encoded as a PNG file."""
    return _decode(image, OutputFormat.PNG).data


def face_as_jpeg(image: bytes) -> bytes:
    """The face as a JPEG file: the chip's own bytes when they are a JPEG that decodes,
    else the JPEG 2000 face decoded and encoded as JPEG."""
    encoded = _decode(image, OutputFormat.JPEG)
    return image if encoded.source_format is ImageFormat.JPEG else encoded.data
