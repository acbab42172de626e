"""DG2 (ICAO 9303-10 §4.7.2): biometric templates, ISO/IEC 19794-5 and 39794-5 face records.

Vector: the BSI TR-03105-5 specimen (tests/vectors/bsi-tr03105-5/Datagroup2.bin), an
ISO/IEC 19794-5:2005 record holding a JPEG 2000 face; its record header declares 337 × 449
pixels while the JP2 codestream is 413 × 531. The 39794-5 inputs are DER-encoded here after
the ASN.1 of ISO/IEC 39794-5 (FaceImageDataBlock → RepresentationBlock →
ImageRepresentation2DBlock), in the wrappings seen in other readers.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.lds.dg2 import (
    MAX_FACES,
    BiometricEncoding,
    FeaturePoint,
    ImageFormat,
    detect_image_format,
    parse_dg2,
)
from tests.vectors import BSI_DATASET

BSI_DG2 = (BSI_DATASET / "Datagroup2.bin").read_bytes()
JPEG = bytes.fromhex("FFD8FFE0") + b"jpeg body"
J2K = bytes.fromhex("FF4FFF51") + b"codestream"
JP2 = bytes.fromhex("0000000C6A5020200D0A870A") + b"boxes"
HEADER_19794 = tlv.encode(0xA1, bytes.fromhex("8002 0101 810102 87020101 88020008"))


def dg2(*templates: bytes, count: int | None = None) -> bytes:
    announced = len(templates) if count is None else count
    body = tlv.encode(0x02, bytes((announced,))) + b"".join(templates)
    return tlv.encode(0x75, tlv.encode(0x7F61, body))


def template(bdb: bytes, tag: int = 0x5F2E, header: bytes = HEADER_19794) -> bytes:
    return tlv.encode(0x7F60, header + tlv.encode(tag, bdb))


def face_19794(image: bytes, points: int = 0, data_type: int = 0, size: int = 0) -> bytes:
    """One facial record block (ISO/IEC 19794-5:2005 §5.5-5.7)."""
    length = 20 + 8 * points + 12 + len(image) + size
    header = struct.pack(
        ">IHBBB3sH3s3s",
        length,
        points,
        2,
        1,
        3,
        b"\x00\x00\x01",
        1,
        b"\x01\x02\x03",
        b"\x04\x05\x06",
    )
    feature_points = b"".join(
        struct.pack(">BBHHH", 1, 0x31 + i, 100 + i, 200 + i, 0) for i in range(points)
    )
    info = struct.pack(">BBHHBBHH", 1, data_type, 240, 320, 1, 2, 3, 4)
    return header + feature_points + info + image


def record_19794(*faces: bytes, version: bytes = b"010\x00", extra: int = 0) -> bytes:
    length = 14 + sum(len(face) for face in faces) + extra
    return b"FAC\x00" + version + struct.pack(">IH", length, len(faces)) + b"".join(faces)


def ctx(number: int, value: bytes, constructed: bool = True) -> bytes:
    return tlv.encode((0xA0 if constructed else 0x80) | number, value)


def uint(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")


def representation_39794(image: bytes, code: int = 2, size: tuple[int, int] | None = None) -> bytes:
    """RepresentationBlock with an ImageRepresentation2DBlock (CHOICEs tagged explicitly)."""
    information = ctx(0, ctx(0, uint(code), constructed=False))
    if size is not None:
        information += ctx(7, ctx(0, uint(size[0]), False) + ctx(1, uint(size[1]), False))
    two_d = ctx(0, image, constructed=False) + ctx(1, information)
    return tlv.encode(0x30, ctx(0, b"\x00", False) + ctx(1, ctx(0, ctx(0, two_d))))


def data_block_39794(*representations: bytes) -> bytes:
    """[0] VersionBlock (generation 3, year 2019) and [1] RepresentationBlocks."""
    version = ctx(0, ctx(0, b"\x03", False) + ctx(1, uint(2019), False))
    return version + ctx(1, b"".join(representations))


def test_bsi_dg2_19794_jpeg2000() -> None:
    parsed = parse_dg2(BSI_DG2)
    (tmpl,) = parsed.templates
    assert (tmpl.biometric_type, tmpl.format_owner, tmpl.format_type) == (2, 0x0101, 0x0008)
    assert (tmpl.encoding, tmpl.version) == (BiometricEncoding.ISO_19794_5, "010")
    (face,) = parsed.faces
    assert face.encoding is BiometricEncoding.ISO_19794_5
    assert (face.image_data_type, face.declared_width, face.declared_height) == (1, 337, 449)
    assert face.declared_format is face.format is ImageFormat.JPEG2000
    assert len(face.image) == 14999
    assert face.image == BSI_DG2[-14999:]
    assert face.image.startswith(bytes.fromhex("0000000C6A5020200D0A870A"))
    assert face.header is not None
    assert (face.header.face_image_type, face.header.feature_points) == (1, ())
    assert "image=" not in repr(face)


def test_19794_feature_points_header_and_two_faces() -> None:
    bdb = record_19794(face_19794(JPEG, points=2), face_19794(J2K, data_type=1))
    parsed = parse_dg2(dg2(template(bdb)))
    first, second = parsed.faces
    assert first.image == JPEG
    assert first.format is first.declared_format is ImageFormat.JPEG
    assert second.image == J2K
    assert second.format is second.declared_format is ImageFormat.JPEG2000
    header = first.header
    assert header is not None
    assert header.feature_points == (
        FeaturePoint(1, 0x31, 100, 200),
        FeaturePoint(1, 0x32, 101, 201),
    )
    assert (header.feature_points[0].major, header.feature_points[0].minor) == (3, 1)
    assert (header.gender, header.eye_colour, header.hair_colour) == (2, 1, 3)
    assert (header.feature_mask, header.expression) == (1, 1)
    assert (header.pose_angle, header.pose_angle_uncertainty) == ((1, 2, 3), (4, 5, 6))
    assert (header.face_image_type, header.colour_space, header.source_type) == (1, 1, 2)
    assert (header.device_type, header.quality) == (3, 4)
    assert (first.declared_width, first.declared_height) == (240, 320)


def test_several_templates() -> None:
    first = template(record_19794(face_19794(JPEG)))
    second = template(data_block_39794(representation_39794(J2K, code=3)), tag=0x7F2E)
    parsed = parse_dg2(dg2(first, second))
    assert [t.encoding for t in parsed.templates] == [
        BiometricEncoding.ISO_19794_5,
        BiometricEncoding.ISO_39794_5,
    ]
    assert [face.image for face in parsed.faces] == [JPEG, J2K]


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda block: tlv.encode(0x65, block), id="[APPLICATION 5]"),
        pytest.param(lambda block: ctx(1, tlv.encode(0x65, block)), id="[1] { [APPLICATION 5] }"),
        pytest.param(lambda block: ctx(5, tlv.encode(0x30, block)), id="[5] { SEQUENCE }"),
        pytest.param(lambda block: block, id="bare"),
    ],
)
def test_39794_face_in_its_wrappings(wrap: Callable[[bytes], bytes]) -> None:
    bdb = wrap(data_block_39794(representation_39794(JPEG, code=2, size=(480, 640))))
    parsed = parse_dg2(dg2(template(bdb, tag=0x7F2E, header=tlv.encode(0xA1, b"\x87\x02\x01\x01"))))
    (tmpl,) = parsed.templates
    assert (tmpl.encoding, tmpl.version, tmpl.format_owner, tmpl.format_type) == (
        BiometricEncoding.ISO_39794_5,
        "3/2019",
        0x0101,
        None,
    )
    (face,) = tmpl.faces
    assert (face.image, face.image_data_type) == (JPEG, 2)
    assert (face.declared_width, face.declared_height) == (480, 640)
    assert face.declared_format is face.format is ImageFormat.JPEG
    assert face.header is None


def test_39794_detected_by_first_byte_even_under_5f2e() -> None:
    bdb = tlv.encode(0x65, data_block_39794(representation_39794(JP2, code=4)))
    (face,) = parse_dg2(dg2(template(bdb, tag=0x5F2E))).faces
    assert (face.encoding, face.image, face.declared_format) == (
        BiometricEncoding.ISO_39794_5,
        JP2,
        ImageFormat.JPEG2000,
    )
    assert (face.declared_width, face.declared_height) == (None, None)


def test_39794_single_representation_without_sequence_and_implicit_format() -> None:
    """RepresentationBlocks holding the block's fields directly; format as a bare [0]."""
    two_d = ctx(0, JPEG, False) + ctx(1, ctx(0, b"\x02", False))
    fields = ctx(0, b"\x00", False) + ctx(1, ctx(0, ctx(0, two_d)))
    version = ctx(0, ctx(0, b"\x01", False) + ctx(1, uint(2019), False))
    (face,) = parse_dg2(dg2(template(version + ctx(1, fields), tag=0x7F2E))).faces
    assert (face.image, face.image_data_type) == (JPEG, 2)


def test_header_template_may_be_absent() -> None:
    (tmpl,) = parse_dg2(dg2(template(record_19794(face_19794(JPEG)), header=b""))).templates
    assert (tmpl.biometric_type, tmpl.format_owner, tmpl.format_type) == (None, None, None)


@pytest.mark.parametrize(
    ("data", "image_format"),
    [
        (JPEG, ImageFormat.JPEG),
        (J2K, ImageFormat.JPEG2000),
        (JP2, ImageFormat.JPEG2000),
        (b"\x89PNG\r\n\x1a\n", None),
        (bytes.fromhex("FFD8"), None),
        (b"", None),
    ],
)
def test_detect_image_format(data: bytes, image_format: ImageFormat | None) -> None:
    assert detect_image_format(data) is image_format


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (tlv.encode(0x61, b""), ParseError, "DG2 must start with tag 75"),
        (tlv.encode(0x75, tlv.encode(0x7F60, b"")), ParseError, "7F61 missing"),
        (tlv.encode(0x75, tlv.encode(0x7F61, template(JPEG))), ParseError, "number of biometric"),
        (dg2(template(record_19794(face_19794(JPEG))), count=2), ParseError, "announces 2"),
        (dg2(), ParseError, "announces 0 templates and holds 0"),
        (dg2(tlv.encode(0x7F60, HEADER_19794)), ParseError, "without a data block"),
        (dg2(tlv.encode(0x7F60, tlv.encode(0x7D, b"\x00"))), UnsupportedProtocolError, "secure"),
        (dg2(template(b"\x01\x02\x03")), ParseError, "neither ISO/IEC 19794-5 nor 39794-5"),
        (dg2(template(b"")), ParseError, "neither"),
        (dg2(template(b"FAC\x00010\x00")), ParseError, "shorter than its header"),
        (
            dg2(template(record_19794(face_19794(JPEG), version=b"030\x00"))),
            UnsupportedProtocolError,
            "version '030'",
        ),
        (dg2(template(record_19794(face_19794(JPEG), extra=1))), ParseError, "record length"),
        (dg2(template(record_19794())), ParseError, "0 facial images"),
        (
            dg2(template(record_19794(*[face_19794(JPEG)] * (MAX_FACES + 1)))),
            ParseError,
            "9 facial images",
        ),
        (
            dg2(template(record_19794(face_19794(JPEG, size=1)))),
            ParseError,
            "block length",
        ),
        (dg2(template(record_19794(face_19794(b"")))), ParseError, "block length"),
        (
            dg2(template(record_19794(face_19794(JPEG, points=3))[:-40])),
            ParseError,
            "record length",
        ),
        (
            dg2(template(ctx(0, ctx(0, b"\x03", False)), tag=0x7F2E)),
            ParseError,
            "no face image data block",
        ),
        (
            dg2(template(data_block_39794(tlv.encode(0x30, ctx(0, b"\x00", False))), tag=0x7F2E)),
            ParseError,
            "image representation missing",
        ),
        (
            dg2(
                template(
                    data_block_39794(tlv.encode(0x30, ctx(1, ctx(0, ctx(0, ctx(0, JPEG, False)))))),
                    tag=0x7F2E,
                )
            ),
            ParseError,
            "no 2D image representation",
        ),
        (
            dg2(
                template(
                    data_block_39794(
                        tlv.encode(0x30, ctx(1, ctx(0, ctx(0, ctx(0, JPEG, False) + ctx(1, b"")))))
                    ),
                    tag=0x7F2E,
                )
            ),
            ParseError,
            "without an image data format",
        ),
        (BSI_DG2 + b"\x00", ParseError, "trailing bytes"),
    ],
)
def test_malformed_dg2(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_dg2(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_library_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, UnsupportedProtocolError):
        parse_dg2(tlv.encode(0x75, tlv.encode(0x7F61, data)))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 120), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_bsi_header_raises_only_library_errors(changes: list[tuple[int, int]]) -> None:
    data = bytearray(BSI_DG2)
    for position, byte in changes:
        data[position] = byte
    with contextlib.suppress(ParseError, UnsupportedProtocolError):
        parsed = parse_dg2(bytes(data))
        assert sum(len(face.image) for face in parsed.faces) <= len(data)


FULL_39794 = dg2(
    template(
        tlv.encode(0x65, data_block_39794(representation_39794(JPEG, size=(4, 5)))), tag=0x7F2E
    )
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(FULL_39794) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_39794_raises_only_library_errors(changes: list[tuple[int, int]]) -> None:
    data = bytearray(FULL_39794)
    for position, byte in changes:
        data[position] = byte
    with contextlib.suppress(ParseError, UnsupportedProtocolError):
        parsed = parse_dg2(bytes(data))
        assert len(parsed.faces) <= MAX_FACES
