"""Reading DG2 faces' headers and decoding the faces (JPEG and JPEG 2000) for the kiosk.

Vector: the BSI TR-03105-5 specimen face (tests/vectors/bsi-tr03105-5/Datagroup2.bin),
a JPEG 2000 (JP2) image of 413 × 531 pixels. JPEG and raw JPEG 2000 codestreams are made
here with Pillow's encoders.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cardreader.errors import ParseError
from cardreader.lds.dg2 import ImageFormat, parse_dg2
from cardreader.lds.image import (
    MAX_DIMENSION,
    FaceImage,
    decode_face,
    display_reduction,
    face_as_png,
    inspect_face,
)
from tests.vectors import BSI_DATASET

BSI_FACE = parse_dg2((BSI_DATASET / "Datagroup2.bin").read_bytes()).faces[0].image


def encoded(mode: str, size: tuple[int, int], pillow_format: str, **options: object) -> bytes:
    image = Image.new(mode, size)
    image.putdata(
        [(i * 37) % 251 if mode == "L" else _colour(mode, i) for i in range(size[0] * size[1])]
    )
    out = io.BytesIO()
    image.save(out, format=pillow_format, **options)
    return out.getvalue()


def _colour(mode: str, i: int) -> tuple[int, ...]:
    return tuple((i * k) % 251 for k in range(3, 3 + len(mode)))


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data), formats=["PPM", "JPEG", "PNG"]) as image:
        return image.mode, image.size, image.tobytes()


def test_bsi_jpeg2000_face_is_413_by_531() -> None:
    decoded = decode_face(BSI_FACE)
    assert (decoded.width, decoded.height) == (413, 531)
    assert (decoded.mode, decoded.source_format) == ("RGB", ImageFormat.JPEG2000)
    assert decoded.display.startswith(b"P6\n413 531\n255\n")
    assert len(decoded.display) == len(b"P6\n413 531\n255\n") + 413 * 531 * 3
    with Image.open(io.BytesIO(BSI_FACE)) as original:
        assert pixels(decoded.display) == ("RGB", (413, 531), original.convert("RGB").tobytes())
    assert "display=" not in repr(decoded)


def test_a_grey_or_rgb_jpeg_is_shown_as_the_chip_holds_it() -> None:
    for mode in ("RGB", "L"):
        data = encoded(mode, (30, 40), "JPEG")
        assert decode_face(data).display is data
    cmyk = decode_face(encoded("CMYK", (8, 8), "JPEG"))
    assert cmyk.display.startswith(b"P6\n8 8\n255\n")


def test_face_as_png_for_saving() -> None:
    data = encoded("L", (17, 9), "JPEG")
    png = face_as_png(data)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert pixels(png) == pixels(decode_face(data).display)


@pytest.mark.parametrize(
    ("data", "source_format", "mode"),
    [
        (encoded("RGB", (30, 40), "JPEG"), ImageFormat.JPEG, "RGB"),
        (encoded("L", (17, 9), "JPEG"), ImageFormat.JPEG, "L"),
        (encoded("CMYK", (8, 8), "JPEG"), ImageFormat.JPEG, "RGB"),
        (encoded("RGB", (21, 13), "JPEG2000", no_jp2=True), ImageFormat.JPEG2000, "RGB"),
        (encoded("L", (5, 7), "JPEG2000"), ImageFormat.JPEG2000, "L"),
    ],
)
def test_decodes_to_the_same_pixels(data: bytes, source_format: ImageFormat, mode: str) -> None:
    decoded = decode_face(data)
    assert (decoded.source_format, decoded.mode) == (source_format, mode)
    with Image.open(io.BytesIO(data)) as original:
        expected = original.convert(mode)
        assert (decoded.width, decoded.height) == original.size
        assert pixels(decoded.display) == (mode, original.size, expected.tobytes())


def test_raw_codestream_is_detected() -> None:
    data = encoded("RGB", (4, 4), "JPEG2000", no_jp2=True)
    assert data.startswith(bytes.fromhex("FF4FFF51"))
    assert decode_face(data).source_format is ImageFormat.JPEG2000


@pytest.mark.parametrize(
    "size", [(MAX_DIMENSION + 1, 1), (1, MAX_DIMENSION + 1)], ids=["too wide", "too tall"]
)
def test_oversized_images_are_refused_before_decoding(size: tuple[int, int]) -> None:
    data = encoded("L", size, "JPEG")
    with pytest.raises(ParseError, match=f"exceeds {MAX_DIMENSION}×{MAX_DIMENSION}"):
        decode_face(data)


def test_largest_accepted_dimension() -> None:
    assert decode_face(encoded("L", (MAX_DIMENSION, 1), "JPEG")).width == MAX_DIMENSION


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "neither JPEG nor JPEG 2000"),
        (b"", "neither JPEG nor JPEG 2000"),
        (bytes.fromhex("FFD8FF") + b"\x00" * 10, "JPEG face image cannot be decoded"),
        (BSI_FACE[: len(BSI_FACE) // 2], "JPEG2000 face image cannot be decoded"),
        (encoded("RGB", (30, 40), "JPEG")[:200], "JPEG face image cannot be decoded"),
        (bytes.fromhex("FF4FFF51") + b"\x00" * 60, "JPEG2000 face image cannot be decoded"),
    ],
)
def test_undecodable_images_raise_parse_error(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        decode_face(data)


def test_inspecting_a_face_reads_its_header_only() -> None:
    jpeg = encoded("RGB", (30, 40), "JPEG")
    assert inspect_face(BSI_FACE) == FaceImage(413, 531, ImageFormat.JPEG2000, BSI_FACE)
    assert inspect_face(jpeg) == FaceImage(30, 40, ImageFormat.JPEG, jpeg)
    assert "data=" not in repr(inspect_face(jpeg))
    body_cut = BSI_FACE[: len(BSI_FACE) // 2]  # the header is whole, the pixels are not
    assert inspect_face(body_cut) == FaceImage(413, 531, ImageFormat.JPEG2000, body_cut)
    with pytest.raises(ParseError, match="JPEG2000 face image cannot be decoded"):
        decode_face(inspect_face(body_cut).data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "neither JPEG nor JPEG 2000"),
        (bytes.fromhex("FFD8FF") + b"\x00" * 10, "JPEG face image has no readable header"),
        (bytes.fromhex("FF4FFF51") + b"\x00" * 60, "JPEG2000 face image has no readable header"),
        (encoded("L", (MAX_DIMENSION + 1, 1), "JPEG"), f"exceeds {MAX_DIMENSION}×{MAX_DIMENSION}"),
    ],
)
def test_a_face_without_a_readable_bounded_header_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inspect_face(data)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([b"", bytes.fromhex("FFD8FF"), bytes.fromhex("FF4FFF51")]),
    st.binary(max_size=200),
)
def test_random_bytes_raise_only_parse_error(magic: bytes, data: bytes) -> None:
    with contextlib.suppress(ParseError):
        decoded = decode_face(magic + data)
        assert decoded.width <= MAX_DIMENSION


SMALL_JPEG = encoded("RGB", (16, 16), "JPEG")
SMALL_J2K = encoded("RGB", (16, 16), "JPEG2000", no_jp2=True)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([SMALL_JPEG, SMALL_J2K]),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_images_raise_only_parse_error(
    image: bytes, changes: list[tuple[int, int]]
) -> None:
    data = bytearray(image)
    for position, byte in changes:
        data[position % len(data)] = byte
    with contextlib.suppress(ParseError):
        decoded = decode_face(bytes(data))
        assert decoded.width <= MAX_DIMENSION and decoded.height <= MAX_DIMENSION


def test_a_header_claiming_a_huge_image_is_refused_without_a_warning() -> None:
    """11,000 × 11,000 pixels in the JPEG's frame header: Pillow would warn of a
    decompression bomb; the decoder refuses the image with its own error instead."""
    data = bytearray(SMALL_JPEG)
    sof = next(i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[sof + 5 : sof + 9] = (11_000).to_bytes(2, "big") * 2  # height, width
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ParseError, match="cannot be decoded: Image size"):
            decode_face(bytes(data))
    assert [w.category for w in caught] == []


def flat_jpeg2000(size: tuple[int, int], **options: object) -> bytes:
    """A JPEG 2000 codestream of ``size`` pixels, a few colours (quick to encode)."""
    image = Image.new("RGB", size, (90, 60, 30))
    image.paste((200, 180, 160), (0, 0, size[0] // 2, size[1] // 3))
    out = io.BytesIO()
    image.save(out, format="JPEG2000", no_jp2=True, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "reduction"),
    [((240, 320), 0), ((413, 531), 0), ((959, 1280), 0), ((960, 1280), 1), ((1920, 2560), 2)],
)
def test_display_reduction_keeps_twice_the_display_size(
    size: tuple[int, int], reduction: int
) -> None:
    assert display_reduction(*size) == reduction


def test_a_large_jpeg2000_face_is_decoded_reduced_for_display() -> None:
    """1000 × 1300 pixels: a reduction by 2 (500 × 650) keeps twice the 240 × 320 box."""
    data = flat_jpeg2000((1000, 1300))
    decoded = decode_face(data)
    assert (decoded.width, decoded.height, decoded.mode) == (1000, 1300, "RGB")
    with Image.open(io.BytesIO(data)) as original:
        original.reduce = 1  # type: ignore[assignment,method-assign]
        original.load()
        assert pixels(decoded.display) == ("RGB", (500, 650), original.tobytes())
    assert pixels(face_as_png(data))[1] == (1000, 1300)


def test_a_jpeg2000_face_without_that_resolution_level_is_decoded_in_full() -> None:
    data = flat_jpeg2000((1000, 1300), num_resolutions=1)
    decoded = decode_face(data)
    assert (decoded.width, decoded.height) == (1000, 1300)
    assert pixels(decoded.display)[1] == (1000, 1300)


def test_a_corrupted_large_jpeg2000_face_is_refused() -> None:
    data = flat_jpeg2000((1000, 1300))
    with pytest.raises(ParseError, match="JPEG2000 face image cannot be decoded"):
        decode_face(data[: len(data) // 2])


def test_a_truncated_jpeg_face_is_refused_though_checked_at_reduced_scale() -> None:
    noise = bytes((i * 7919) % 251 for i in range(240 * 320 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (240, 320), noise).save(out, format="JPEG")
    face = out.getvalue()
    assert decode_face(face).display == face
    with pytest.raises(
        ParseError, match=r"^the JPEG face image cannot be decoded: image file is truncated"
    ):
        decode_face(face[:-10])
