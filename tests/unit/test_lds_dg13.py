"""DG13 of the CCCD (docs/domain.md §2), built here by DER-encoding with tlv.encode.

``6D { SEQUENCE { INTEGER version, OID, SET { SEQUENCE { INTEGER n, value } ... } } }``.
No real card's DG13 is public, so the inputs follow the [likely] layout of docs/domain.md and
vary what the parser must tolerate: order, long-form lengths, absent and unknown fields,
other string types, decomposed Unicode.
"""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError
from cardreader.idnumber import Sex
from cardreader.iso7816 import tlv
from cardreader.lds.dg13 import (
    MAX_FIELDS,
    CardDate,
    Dg13,
    UnknownField,
    parse_card_date,
    parse_dg13,
    sex_from_text,
)

DG13_OID = "1.2.804.999.3"
"""A stand-in: the object identifier the card carries is not known."""

UTF8, PRINTABLE, BMP, SEQUENCE, SET = 0x0C, 0x13, 0x1E, 0x30, 0x31


def integer(value: int) -> bytes:
    return tlv.encode(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big"))


def utf8(text: str) -> bytes:
    return tlv.encode(UTF8, text.encode())


def printable(text: str) -> bytes:
    return tlv.encode(PRINTABLE, text.encode("ascii"))


def entry(number: int, *values: bytes) -> bytes:
    return tlv.encode(SEQUENCE, integer(number) + b"".join(values))


def long_form(tag: int, value: bytes) -> bytes:
    """A definite length in the four-byte long form, as some encoders write it."""
    return bytes((tag, 0x84)) + len(value).to_bytes(4, "big") + value


def dg13(*entries: bytes, version: int = 1, oid: str = DG13_OID) -> bytes:
    header = integer(version) + tlv.encode(0x06, tlv.encode_oid(oid))
    return tlv.encode(0x6D, tlv.encode(SEQUENCE, header + tlv.encode(SET, b"".join(entries))))


FULL_ENTRIES = (
    entry(1, printable("001185012345")),
    entry(2, utf8("Nguyễn Thị Hoà")),
    entry(3, printable("15/03/1985")),
    entry(4, utf8("Nữ")),
    entry(5, utf8("Việt Nam")),
    entry(6, utf8("Kinh")),
    entry(7, utf8("Không")),
    entry(8, utf8("Xã Đông Hoà, Huyện Dĩ An, Bình Dương")),
    entry(9, utf8("12 Lê Lợi, Phường Bến Nghé, Quận 1, Hồ Chí Minh")),
    entry(10, utf8("Nốt ruồi C:1cm trên trước mép phải")),
    entry(11, printable("10/07/2021")),
    entry(12, utf8("15/03/2045")),
    entry(13, tlv.encode(SEQUENCE, utf8("Nguyễn Văn Bình") + utf8("Trần Thị Mai"))),
    entry(14, tlv.encode(SEQUENCE, utf8("Lê Văn Tám"))),
    entry(15, printable("025123456")),
    entry(16, printable("ABCDEF0123456789")),
)


def test_full_record() -> None:
    parsed = parse_dg13(dg13(*FULL_ENTRIES))
    assert parsed == Dg13(
        version=1,
        oid=DG13_OID,
        field_numbers=tuple(range(1, 17)),
        id_number="001185012345",
        full_name="Nguyễn Thị Hoà",
        date_of_birth=CardDate("15/03/1985", date(1985, 3, 15)),
        sex="Nữ",
        nationality="Việt Nam",
        ethnicity="Kinh",
        religion="Không",
        place_of_origin="Xã Đông Hoà, Huyện Dĩ An, Bình Dương",
        place_of_residence="12 Lê Lợi, Phường Bến Nghé, Quận 1, Hồ Chí Minh",
        identifying_marks="Nốt ruồi C:1cm trên trước mép phải",
        date_of_issue=CardDate("10/07/2021", date(2021, 7, 10)),
        date_of_expiry=CardDate("15/03/2045", date(2045, 3, 15)),
        father_name="Nguyễn Văn Bình",
        mother_name="Trần Thị Mai",
        spouse_name="Lê Văn Tám",
        old_id_number="025123456",
        unknown_fields=(UnknownField(16, printable("ABCDEF0123456789")),),
    )
    assert parsed.unknown_fields[0].text == "ABCDEF0123456789"


def test_fields_are_found_by_number_not_position() -> None:
    shuffled = tuple(reversed(FULL_ENTRIES))
    forward, backward = parse_dg13(dg13(*FULL_ENTRIES)), parse_dg13(dg13(*shuffled))
    assert backward.field_numbers == tuple(range(16, 0, -1))
    assert backward.full_name == forward.full_name == "Nguyễn Thị Hoà"
    assert backward.place_of_residence == forward.place_of_residence
    assert (backward.father_name, backward.mother_name) == ("Nguyễn Văn Bình", "Trần Thị Mai")


def test_missing_fields_and_year_only_birth_date() -> None:
    parsed = parse_dg13(
        dg13(
            entry(1, printable("079085000123")),
            entry(2, utf8("Hồ Văn Nam")),
            entry(3, printable("1985")),
            entry(12, utf8("Không thời hạn")),
            entry(13, tlv.encode(SEQUENCE, utf8("") + utf8("Hồ Thị Lan"))),
            entry(14),
        )
    )
    assert parsed.date_of_birth == CardDate("1985", None)
    assert parsed.date_of_birth.year == 1985
    assert parsed.date_of_expiry == CardDate("Không thời hạn", None)
    assert parsed.date_of_expiry.year is None
    assert parsed.father_name is None
    assert parsed.mother_name == "Hồ Thị Lan"
    assert parsed.spouse_name is None
    assert (parsed.sex, parsed.date_of_issue, parsed.old_id_number) == (None, None, None)
    assert parsed.unknown_fields == ()


def test_unknown_field_17_is_kept_exactly_as_encoded() -> None:
    raw = long_form(UTF8, "Nhóm máu O".encode())
    parsed = parse_dg13(dg13(entry(2, utf8("Lý Thị B")), entry(17, raw)))
    assert parsed.unknown_fields == (UnknownField(17, raw),)
    assert parsed.unknown_fields[0].text == "Nhóm máu O"
    compound = UnknownField(18, utf8("a") + utf8("b"))
    assert compound.text is None


def test_long_form_lengths_everywhere() -> None:
    name = long_form(UTF8, "Hồ Chí Minh".encode())
    inner = long_form(SEQUENCE, integer(9) + name)
    body = integer(1) + tlv.encode(0x06, tlv.encode_oid(DG13_OID)) + long_form(SET, inner)
    parsed = parse_dg13(long_form(0x6D, long_form(SEQUENCE, body)))
    assert parsed.place_of_residence == "Hồ Chí Minh"


def test_text_is_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    assert decomposed != "Nguyễn Thị Hoà"
    parsed = parse_dg13(dg13(entry(2, utf8(decomposed))))
    assert parsed.full_name == "Nguyễn Thị Hoà"
    assert unicodedata.is_normalized("NFC", parsed.full_name)


def test_other_string_types_are_accepted() -> None:
    parsed = parse_dg13(
        dg13(
            entry(2, tlv.encode(BMP, "Đặng Thị Huệ".encode("utf-16-be"))),
            entry(5, tlv.encode(0x1C, "Việt Nam".encode("utf-32-be"))),
            entry(1, tlv.encode(0x12, b"001185012345")),
            entry(6, tlv.encode(0x04, "Tày".encode())),
        )
    )
    assert (parsed.full_name, parsed.nationality) == ("Đặng Thị Huệ", "Việt Nam")
    assert (parsed.id_number, parsed.ethnicity) == ("001185012345", "Tày")


def test_elements_after_the_set_of_fields_are_ignored() -> None:
    body = tlv.encode(SET, entry(2, utf8("A"))) + integer(7) + utf8("x")
    parsed = parse_dg13(tlv.encode(0x6D, tlv.encode(SEQUENCE, body)))
    assert (parsed.version, parsed.oid, parsed.field_numbers, parsed.full_name) == (
        None,
        None,
        (2,),
        "A",
    )


def test_an_unknown_field_of_nine_values_is_kept_without_text() -> None:
    values = utf8("a") * 9
    parsed = parse_dg13(dg13(entry(2, utf8("A")), entry(30, values)))
    assert parsed.unknown_fields == (UnknownField(30, values),)
    assert parsed.unknown_fields[0].text is None


def test_version_and_oid_may_be_absent() -> None:
    set_only = tlv.encode(SEQUENCE, tlv.encode(SET, entry(2, utf8("A"))))
    parsed = parse_dg13(tlv.encode(0x6D, set_only))
    assert (parsed.version, parsed.oid, parsed.full_name) == (None, None, "A")


def test_repr_hides_personal_fields() -> None:
    parsed = parse_dg13(dg13(*FULL_ENTRIES))
    text = repr(parsed)
    for secret in ("001185012345", "Hoà", "1985", "Nữ", "Hồ Chí Minh", "Mai", "025123456", "ABC"):
        assert secret not in text
    assert "field_numbers=(1, 2" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/1985", CardDate("15/03/1985", date(1985, 3, 15))),
        ("15031985", CardDate("15031985", date(1985, 3, 15))),
        (" 01/01/2000 ", CardDate(" 01/01/2000 ", date(2000, 1, 1))),
        ("31/02/1990", CardDate("31/02/1990", None)),
        ("1/2/1990", CardDate("1/2/1990", None)),
        ("Không thời hạn", CardDate("Không thời hạn", None)),
    ],
)
def test_parse_card_date(text: str, expected: CardDate) -> None:
    assert parse_card_date(text) == expected


@pytest.mark.parametrize(
    ("text", "sex"),
    [("Nam", Sex.MALE), ("Nữ", Sex.FEMALE), ("NỮ", Sex.FEMALE), ("Nu", None), ("", None)],
)
def test_sex_from_text(text: str, sex: Sex | None) -> None:
    assert sex_from_text(unicodedata.normalize("NFD", text)) is sex


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tlv.encode(0x6E, b""), "DG13 must start with tag 6D"),
        (tlv.encode(0x6D, b""), "^truncated tag$"),
        (tlv.encode(0x6D, tlv.encode(SEQUENCE, integer(1))), "^DG13 has no SET of fields$"),
        (dg13(tlv.encode(SET, b"")), "^DG13 entry must be a SEQUENCE, not tag 31$"),
        (dg13(tlv.encode(SEQUENCE, b"")), "empty DG13 entry"),
        (dg13(tlv.encode(SEQUENCE, utf8("x"))), "field number must be an INTEGER"),
        (dg13(entry(2, utf8("a")), entry(2, utf8("b"))), "field 2 appears twice"),
        (dg13(tlv.encode(SEQUENCE, tlv.encode(0x02, b"\xff"))), "negative"),
        (dg13(entry(2, utf8("a"), utf8("b"))), "field 2 holds 2 strings"),
        (dg13(entry(2, tlv.encode(UTF8, b"\xc3"))), "field 2 is not valid utf-8"),
        (dg13(entry(2, integer(5))), "field 2 holds tag 2, not a string"),
        (dg13(entry(13, utf8("a"), utf8("b"), utf8("c"))), "parents field holds 3 names"),
        (
            dg13(entry(9, tlv.encode(SEQUENCE, utf8("a") * 9))),
            "^DG13 field 9 holds more than 8 strings$",
        ),
        (dg13(*(entry(n, utf8("x")) for n in range(65))), "^more than 64 fields in DG13$"),
        (dg13(entry(2, utf8("A"))) + b"\x00", "trailing bytes"),
        (tlv.encode(0x6D, tlv.encode(SET, b"")), "^DG13 must hold a SEQUENCE, not tag 31$"),
        (
            tlv.encode(0x6D, tlv.encode(SEQUENCE, tlv.encode(SEQUENCE, entry(2, utf8("A"))))),
            "^DG13 fields must be a SET, not tag 30$",
        ),
        (
            tlv.encode(0x6D, tlv.encode(SEQUENCE, tlv.encode(0x02, bytes(5)))),
            "^DG13 version must have 1 to 4 bytes$",
        ),
        (dg13(entry(2, utf8("A")), version=2**31), "^DG13 version must have 1 to 4 bytes$"),
        (dg13(tlv.encode(SEQUENCE, tlv.encode(0x02, b""))), "field number must have 1 to 4"),
        (dg13(entry(2, *[utf8("a")] * 9)), "^more than 8 value objects in a DG13 field$"),
        (dg13(entry(2, tlv.encode(0x2C, utf8("A")))), "^DG13 field 2 holds tag 2C, not a string$"),
        (dg13(entry(17, b"\x0c\x05ab")), "^length 5 of tag C exceeds the 2 bytes left$"),
        (dg13(entry(2, b"\x0c\x80ab\x00\x00")), "^indefinite length is not allowed$"),
        (dg13(entry(2, b"\x0c\x85" + bytes(5))), "^length field of 5 bytes is too long$"),
        (dg13(entry(2, b"\x5f\xff\xff\x01\x00")), "^tag longer than three bytes$"),
    ],
)
def test_malformed_dg13(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_dg13(data)


FULL_DG13 = dg13(*FULL_ENTRIES)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_dg13(b"\x6d" + bytes((len(data),)) + data if len(data) < 128 else data)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(FULL_DG13) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_mutated_dg13_raises_only_parse_error(changes: list[tuple[int, int]]) -> None:
    data = bytearray(FULL_DG13)
    for position, byte in changes:
        data[position] = byte
    with contextlib.suppress(ParseError):
        parsed = parse_dg13(bytes(data))
        assert len(parsed.field_numbers) <= MAX_FIELDS
