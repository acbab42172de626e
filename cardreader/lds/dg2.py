"""DG2: the encoded face (ICAO 9303-10 §4.7.2, ISO/IEC 7816-11 biometric templates).

``75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E or 7F2E data block } ... } }``. The
biometric data block (BDB) is either an ISO/IEC 19794-5:2005 record (``"FAC\\0"``, binary)
or an ISO/IEC 39794-5 DER structure; the first byte tells which. The face image bytes are
returned as stored (JPEG or JPEG 2000, detected by their magic bytes); decoding them to
pixels is :mod:`cardreader.lds.image`'s job. Personal data is hidden from ``repr``.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cardreader.asn1 import UniversalTag
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.lds.tags import LdsTag, unwrap

MAX_TEMPLATES = 8
"""Biometric information templates in one DG2 (ICAO allows several faces)."""
MAX_FACES = 8
"""Face images in one data block."""
_MAX_WRAPPERS = 4
_MAX_INTEGER_BYTES = 4


class Dg2Tag(enum.IntEnum):
    """Data objects of the biometric information group template (ISO/IEC 7816-11 §6)."""

    GROUP_TEMPLATE = 0x7F61
    COUNT = 0x02
    TEMPLATE = 0x7F60
    HEADER = 0xA1
    DATA_BLOCK = 0x5F2E
    DATA_BLOCK_CONSTRUCTED = 0x7F2E
    SECURE_MESSAGING_TEMPLATE = 0x7D


class HeaderTag(enum.IntEnum):
    """Biometric header template elements (ISO/IEC 7816-11 table 9, ICAO 9303-10 §4.7.2)."""

    BIOMETRIC_TYPE = 0x81
    FORMAT_OWNER = 0x87
    FORMAT_TYPE = 0x88


class BiometricEncoding(enum.Enum):
    """How the face record in the data block is encoded."""

    ISO_19794_5 = "ISO/IEC 19794-5"
    ISO_39794_5 = "ISO/IEC 39794-5"


class ImageFormat(enum.Enum):
    """Compressed image formats a face may be stored in (ICAO 9303-9 §2.3)."""

    JPEG = "image/jpeg"
    JPEG2000 = "image/jp2"


JPEG_MAGIC = bytes.fromhex("FFD8FF")
"""SOI marker and the first byte of the next marker (ISO/IEC 10918-1 §B.1)."""
J2K_CODESTREAM_MAGIC = bytes.fromhex("FF4FFF51")
"""SOC marker followed by SIZ: a raw JPEG 2000 codestream (ISO/IEC 15444-1 §A.4)."""
JP2_SIGNATURE_BOX = bytes.fromhex("0000000C6A5020200D0A870A")
"""The JPEG 2000 signature box opening a JP2 file (ISO/IEC 15444-1 §I.5.1)."""
FAC_FORMAT_ID = b"FAC\x00"
"""Format identifier of an ISO/IEC 19794-5 record (§5.4)."""
FAC_VERSION_2005 = b"010\x00"
"""The ISO/IEC 19794-5:2005 version that ICAO 9303-9 requires."""
_CONSTRUCTED = 0x20

IMAGE_DATA_TYPES_19794: Mapping[int, ImageFormat] = MappingProxyType(
    {0: ImageFormat.JPEG, 1: ImageFormat.JPEG2000}
)
"""Image data type of ISO/IEC 19794-5:2005 §5.7.2."""
IMAGE_DATA_FORMATS_39794: Mapping[int, ImageFormat] = MappingProxyType(
    {2: ImageFormat.JPEG, 3: ImageFormat.JPEG2000, 4: ImageFormat.JPEG2000}
)
"""ImageDataFormatCode of ISO/IEC 39794-5: jpeg, jpeg2000Lossy, jpeg2000Lossless."""

# ISO/IEC 19794-5:2005 binary layout, big-endian.
_GENERAL_HEADER = struct.Struct(">4s4sIH")
"""§5.4: format identifier, version, record length, number of facial images."""
_FACIAL_HEADER = struct.Struct(">IHBBB3sH3s3s")
"""§5.5: block length, feature points, gender, eye colour, hair colour, feature mask,
expression, pose angle (yaw, pitch, roll), pose angle uncertainty."""
_FEATURE_POINT = struct.Struct(">BBHHH")
"""§5.6: type, major/minor code, x, y, reserved."""
_IMAGE_INFO = struct.Struct(">BBHHBBHH")
"""§5.7: face image type, image data type, width, height, colour space, source type,
device type, quality."""


def detect_image_format(data: bytes) -> ImageFormat | None:
    """JPEG or JPEG 2000 (codestream or JP2 file) by magic bytes; None for anything else."""
    if data.startswith(JPEG_MAGIC):
        return ImageFormat.JPEG
    if data.startswith((J2K_CODESTREAM_MAGIC, JP2_SIGNATURE_BOX)):
        return ImageFormat.JPEG2000
    return None


@dataclass(frozen=True, slots=True)
class FeaturePoint:
    """One facial feature point (ISO/IEC 19794-5:2005 §5.6)."""

    kind: int
    code: int
    x: int
    y: int

    @property
    def major(self) -> int:
        return self.code >> 4

    @property
    def minor(self) -> int:
        return self.code & 0x0F


@dataclass(frozen=True, slots=True)
class FacialRecordHeader:
    """The per-face fields of an ISO/IEC 19794-5:2005 record (§5.5-5.7), codes as stored."""

    gender: int = field(repr=False)
    eye_colour: int = field(repr=False)
    hair_colour: int = field(repr=False)
    feature_mask: int
    expression: int
    pose_angle: tuple[int, int, int]
    pose_angle_uncertainty: tuple[int, int, int]
    face_image_type: int
    colour_space: int
    source_type: int
    device_type: int
    quality: int
    feature_points: tuple[FeaturePoint, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class FaceImage:
    """One face: the image bytes and what the record declares about them.

    ``declared_width``/``declared_height`` are the record's claim (absent in many 39794-5
    records); the decoded image may differ and is what counts.
    """

    encoding: BiometricEncoding
    image_data_type: int
    declared_width: int | None
    declared_height: int | None
    image: bytes = field(repr=False)
    header: FacialRecordHeader | None = field(default=None, repr=False)

    @property
    def declared_format(self) -> ImageFormat | None:
        """The format the record's image data type names."""
        table = (
            IMAGE_DATA_TYPES_19794
            if self.encoding is BiometricEncoding.ISO_19794_5
            else IMAGE_DATA_FORMATS_39794
        )
        return table.get(self.image_data_type)

    @property
    def format(self) -> ImageFormat | None:
        """The format the image bytes actually have."""
        return detect_image_format(self.image)


@dataclass(frozen=True, slots=True)
class BiometricTemplate:
    """One biometric information template: its header and the faces of its data block.

    ``version`` is ``"010"`` for ISO/IEC 19794-5:2005, ``"<generation>/<year>"`` for 39794-5.
    """

    biometric_type: int | None
    format_owner: int | None
    format_type: int | None
    encoding: BiometricEncoding
    version: str
    faces: tuple[FaceImage, ...]


@dataclass(frozen=True, slots=True)
class Dg2:
    """The parsed DG2."""

    templates: tuple[BiometricTemplate, ...]

    @property
    def faces(self) -> tuple[FaceImage, ...]:
        return tuple(face for template in self.templates for face in template.faces)


def _uint(value: bytes, what: str) -> int:
    if len(value) > _MAX_INTEGER_BYTES:
        raise ParseError(f"{what} longer than {_MAX_INTEGER_BYTES} bytes")
    return tlv.decode_uint(value)


def _parse_19794(bdb: bytes) -> tuple[str, tuple[FaceImage, ...]]:
    """An ISO/IEC 19794-5:2005 facial record (§5.4-5.8)."""
    if len(bdb) < _GENERAL_HEADER.size:
        raise ParseError("ISO/IEC 19794-5 record shorter than its header")
    _, version, record_length, count = _GENERAL_HEADER.unpack_from(bdb)
    if version != FAC_VERSION_2005:
        shown = version.rstrip(b"\x00").decode("ascii", errors="replace")
        raise UnsupportedProtocolError(f"ISO/IEC 19794-5 record version {shown!r}")
    if not _GENERAL_HEADER.size <= record_length <= len(bdb):
        raise ParseError(f"record length {record_length} does not fit the {len(bdb)} bytes")
    if not 1 <= count <= MAX_FACES:
        raise ParseError(f"{count} facial images (1 to {MAX_FACES} accepted)")
    faces = []
    pos = _GENERAL_HEADER.size
    for _ in range(count):
        if pos + _FACIAL_HEADER.size > record_length:
            raise ParseError("truncated facial record header")
        (length, points, gender, eye, hair, mask, expression, pose, uncertainty) = (
            _FACIAL_HEADER.unpack_from(bdb, pos)
        )
        end = pos + length
        info_at = pos + _FACIAL_HEADER.size + points * _FEATURE_POINT.size
        if end > record_length or info_at + _IMAGE_INFO.size >= end:
            raise ParseError(f"facial record block length {length} does not fit its content")
        feature_points = tuple(
            FeaturePoint(kind, code, x, y)
            for kind, code, x, y, _ in (
                _FEATURE_POINT.unpack_from(bdb, pos + _FACIAL_HEADER.size + i * _FEATURE_POINT.size)
                for i in range(points)
            )
        )
        (image_type, data_type, width, height, colour, source, device, quality) = (
            _IMAGE_INFO.unpack_from(bdb, info_at)
        )
        header = FacialRecordHeader(
            gender=gender,
            eye_colour=eye,
            hair_colour=hair,
            feature_mask=int.from_bytes(mask, "big"),
            expression=expression,
            pose_angle=(pose[0], pose[1], pose[2]),
            pose_angle_uncertainty=(uncertainty[0], uncertainty[1], uncertainty[2]),
            face_image_type=image_type,
            colour_space=colour,
            source_type=source,
            device_type=device,
            quality=quality,
            feature_points=feature_points,
        )
        image = bdb[info_at + _IMAGE_INFO.size : end]
        faces.append(
            FaceImage(BiometricEncoding.ISO_19794_5, data_type, width, height, image, header)
        )
        pos = end
    return version.rstrip(b"\x00").decode("ascii"), tuple(faces)


def _context(number: int, constructed: bool) -> int:
    return (0xA0 if constructed else 0x80) | number


def _find(items: list[tlv.Tlv], tag: int) -> tlv.Tlv | None:
    return next((item for item in items if item.tag == tag), None)


def _require(items: list[tlv.Tlv], tag: int, what: str) -> tlv.Tlv:
    item = _find(items, tag)
    if item is None:
        raise ParseError(f"{what} missing from the ISO/IEC 39794-5 data block")
    return item


def _descend(
    items: list[tlv.Tlv], found: Callable[[list[tlv.Tlv]], bool], what: str
) -> list[tlv.Tlv]:
    """Step through single-child wrappers (explicit tags, CHOICEs) until ``found`` holds."""
    for _ in range(_MAX_WRAPPERS):
        if found(items):
            return items
        if len(items) != 1 or not items[0].constructed:
            break
        items = items[0].children()
    raise ParseError(f"no {what} in the ISO/IEC 39794-5 data block")


def _has(*tags: int) -> Callable[[list[tlv.Tlv]], bool]:
    return lambda items: all(_find(items, tag) is not None for tag in tags)


def _small_uint(items: list[tlv.Tlv], number: int, what: str) -> int | None:
    item = _find(items, _context(number, constructed=False))
    return None if item is None else _uint(item.value, what)


def _parse_39794_face(fields: list[tlv.Tlv]) -> FaceImage:
    """RepresentationBlock → ImageRepresentation → ImageRepresentation2DBlock."""
    representation = _require(fields, _context(1, constructed=True), "image representation")
    two_d = _descend(
        representation.children(),
        _has(_context(0, constructed=False), _context(1, constructed=True)),
        "2D image representation",
    )
    image = _require(two_d, _context(0, constructed=False), "image data")
    info = _require(two_d, _context(1, constructed=True), "image information").children()
    data_format = _find(info, _context(0, constructed=True))
    format_items = data_format.children() if data_format is not None else info
    code = _small_uint(format_items, 0, "image data format")
    if code is None:
        raise ParseError("2D image without an image data format")
    size = _find(info, _context(7, constructed=True))
    width = height = None
    if size is not None:
        size_items = size.children()
        width = _small_uint(size_items, 0, "image width")
        height = _small_uint(size_items, 1, "image height")
    return FaceImage(BiometricEncoding.ISO_39794_5, code, width, height, image.value)


def _parse_39794(bdb: bytes) -> tuple[str, tuple[FaceImage, ...]]:
    """An ISO/IEC 39794-5 FaceImageDataBlock: [0] version, [1] representation blocks."""
    block = _descend(
        tlv.decode_all(bdb, max_elements=_MAX_WRAPPERS),
        _has(_context(0, constructed=True), _context(1, constructed=True)),
        "face image data block",
    )
    version_items = _require(block, _context(0, constructed=True), "version block").children()
    blocks = _require(block, _context(1, constructed=True), "representation blocks")
    generation = _small_uint(version_items, 0, "version generation")
    year = _small_uint(version_items, 1, "version year")
    representations = tlv.decode_all(blocks.value, max_elements=MAX_FACES)
    if representations and all(r.tag == UniversalTag.SEQUENCE for r in representations):
        faces = tuple(_parse_39794_face(r.children()) for r in representations)
    else:
        faces = (_parse_39794_face(representations),)
    return f"{generation}/{year}", faces


def _parse_data_block(bdb: bytes) -> tuple[BiometricEncoding, str, tuple[FaceImage, ...]]:
    if bdb.startswith(FAC_FORMAT_ID):
        return BiometricEncoding.ISO_19794_5, *_parse_19794(bdb)
    if bdb and bdb[0] & _CONSTRUCTED:
        return BiometricEncoding.ISO_39794_5, *_parse_39794(bdb)
    raise ParseError("biometric data block is neither ISO/IEC 19794-5 nor 39794-5")


def _parse_template(template: tlv.Tlv) -> BiometricTemplate:
    items = template.children()
    if _find(items, Dg2Tag.SECURE_MESSAGING_TEMPLATE) is not None:
        raise UnsupportedProtocolError("DG2 biometric template protected by secure messaging")
    header = _find(items, Dg2Tag.HEADER)
    header_items = header.children() if header is not None else []

    def header_uint(tag: HeaderTag) -> int | None:
        item = _find(header_items, tag)
        return None if item is None else _uint(item.value, f"header element {tag:X}")

    block = _find(items, Dg2Tag.DATA_BLOCK) or _find(items, Dg2Tag.DATA_BLOCK_CONSTRUCTED)
    if block is None:
        raise ParseError("biometric information template without a data block (5F2E/7F2E)")
    encoding, version, faces = _parse_data_block(block.value)
    return BiometricTemplate(
        biometric_type=header_uint(HeaderTag.BIOMETRIC_TYPE),
        format_owner=header_uint(HeaderTag.FORMAT_OWNER),
        format_type=header_uint(HeaderTag.FORMAT_TYPE),
        encoding=encoding,
        version=version,
        faces=faces,
    )


def parse_dg2(data: bytes) -> Dg2:
    """Parse DG2 (ICAO 9303-10 §4.7.2) into its templates and face images."""
    group = unwrap(data, LdsTag.DG2).require(Dg2Tag.GROUP_TEMPLATE)
    items = tlv.decode_all(group.value, max_elements=MAX_TEMPLATES + 1)
    count_item = _find(items, Dg2Tag.COUNT)
    if count_item is None:
        raise ParseError("DG2 without the number of biometric templates (02)")
    count = _uint(count_item.value, "template count")
    templates = [item for item in items if item.tag == Dg2Tag.TEMPLATE]
    if count != len(templates) or count == 0:
        raise ParseError(f"DG2 announces {count} templates and holds {len(templates)}")
    return Dg2(tuple(_parse_template(template) for template in templates))
