"""SecurityInfos on the bounded BER-TLV decoder (BSI TR-03110-3 §A.1.1, X.690 §8.1).

Bounds and malformed encodings, with the exact messages; the layouts of the protocols are
covered with real files in test_pace_info.py and test_dg14_dg15.py.
"""

from __future__ import annotations

import pytest

from cardreader.access.pace_info import RawSecurityInfo, parse_card_access
from cardreader.access.security_info import (
    MAX_FIELDS,
    MAX_SECURITY_INFOS,
    PROTOCOL,
    Element,
    Field,
    check_structure,
    decode_security_infos,
    elements,
    read_fields,
    read_sequence,
    small_integer,
)
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv

UNKNOWN = "1.2.3.4"
ID_PACE_ECDH_GM = "0.4.0.127.0.7.2.2.4.2"
ID_PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"


def oid(dotted: str) -> bytes:
    return tlv.encode(0x06, tlv.encode_oid(dotted))


def sequence(*items: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(items))


def one(der: bytes) -> Element:
    (element,) = elements(der, 1, "elements")
    return element


def nested(depth: int) -> bytes:
    der = tlv.encode(0x04, b"")
    for _ in range(depth):
        der = sequence(der)
    return der


LAYOUT = (PROTOCOL, Field("version", 0x02), Field("keyId", 0x02, optional=True))


def fields(*items: bytes) -> dict[str, Element]:
    return read_fields(elements(b"".join(items), MAX_FIELDS, "elements"), LAYOUT, "Info")


def test_elements_keep_their_encoding_as_read() -> None:
    (element,) = elements(b"\x30\x81\x03\x02\x01\x07", 1, "elements")
    assert (element.tag, element.value, element.der) == (
        0x30,
        b"\x02\x01\x07",
        b"\x30\x81\x03\x02\x01\x07",
    )
    body = oid(UNKNOWN) + b"\x02\x01\x01"
    raw = b"\x30\x81" + bytes((len(body),)) + body  # length not in its shortest form
    assert parse_card_access(tlv.encode(0x31, raw)).other == (RawSecurityInfo(UNKNOWN, raw),)
    algorithm = oid("1.2.840.10045.2.1") + b"\x02\x01\x01"
    domain = b"\x30\x81" + bytes((len(algorithm),)) + algorithm
    info = sequence(oid(ID_PACE_ECDH_GM), domain, b"\x02\x01\x0d")
    (parsed,) = parse_card_access(tlv.encode(0x31, info)).domain_parameter_infos
    assert (parsed.domain_parameter, parsed.parameter_id) == (domain, 13)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\x05\x02\x01", r"^length 5 of tag 30 exceeds the 2 bytes left$"),
        (b"\x30", r"^truncated length$"),
        (b"\x30\x80\x00\x00", r"^indefinite length is not allowed$"),
        (b"\x30\x85\x00\x00\x00\x00\x01\x05", r"^length field of 5 bytes is too long$"),
        (b"\x00\x00", r"^invalid tag byte 00$"),
        (b"\x1f\x05\x00", r"^tag 1F05 is not in its shortest form$"),
        (b"\x1f\x80\x01\x00", r"^tag 1F8001 is not in its shortest form$"),
        (b"\x02\x01\x01\x02\x01\x01", r"^more than 1 elements$"),
    ],
)
def test_malformed_elements(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        elements(data, 1, "elements")


def test_shortest_high_tag_numbers_are_accepted() -> None:
    assert [e.tag for e in elements(b"\x1f\x1f\x00\x5f\x81\x00\x00", 2, "x")] == [0x1F1F, 0x5F8100]


def test_structure_of_an_any_is_checked_to_sixteen_levels() -> None:
    check_structure(one(nested(tlv.MAX_DEPTH)))
    with pytest.raises(ParseError, match=r"^nesting deeper than 16$"):
        check_structure(one(nested(tlv.MAX_DEPTH + 1)))
    with pytest.raises(ParseError, match=r"^truncated length$"):
        check_structure(one(b"\xa0\x01\x0d"))  # constructed, but not data objects
    check_structure(one(b"\x80\x01\x0d"))  # primitive: its contents are not interpreted


def test_layout_fields() -> None:
    version = tlv.encode(0x02, b"\x02")
    assert set(fields(oid(UNKNOWN), version)) == {"protocol", "version"}
    assert fields(oid(UNKNOWN), version, b"\x02\x01\x07")["keyId"].value == b"\x07"
    with pytest.raises(ParseError, match=r"^malformed Info: Field version is missing$"):
        fields(oid(UNKNOWN))
    with pytest.raises(
        ParseError, match=r"^malformed Info: version tag should have been 2, but 6 was found$"
    ):
        fields(oid(UNKNOWN), oid(UNKNOWN))
    with pytest.raises(
        ParseError, match=r"^Info: 1 element\(s\) after the last field of a SEQUENCE$"
    ):
        fields(oid(UNKNOWN), version, oid(UNKNOWN))  # an optional field of another tag: absent
    with pytest.raises(ParseError, match=r"^Info: truncated object identifier$"):
        fields(b"\x06\x01\x81", version)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"", r"^Info: an empty INTEGER$"),
        (b"\x00\x01", r"^Info: an INTEGER with redundant leading octets$"),
        (b"\xff\x80", r"^Info: an INTEGER with redundant leading octets$"),
    ],
)
def test_integers_must_be_der(value: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        fields(oid(UNKNOWN), tlv.encode(0x02, value))


def test_small_integers() -> None:
    assert small_integer(one(b"\x02\x04\x7f\xff\xff\xff"), "x") == 0x7FFFFFFF
    assert small_integer(one(b"\x02\x01\x00"), "x") == 0
    with pytest.raises(ParseError, match=r"^x: INTEGER of 5 bytes exceeds 4$"):
        small_integer(one(b"\x02\x05\x00\x80\x00\x00\x00"), "x")
    with pytest.raises(ParseError, match=r"^x: negative INTEGER where a version"):
        small_integer(one(b"\x02\x04\x80\x00\x00\x00"), "x")


def test_a_raw_info_must_be_one_sequence() -> None:
    for der in (b"", b"\x31\x00"):
        with pytest.raises(ParseError, match=r"^Info must be one SEQUENCE$"):
            read_sequence(der, LAYOUT, "Info")


def test_number_of_security_infos_is_bounded() -> None:
    info = sequence(oid(UNKNOWN), b"\x02\x01\x01")
    assert len(decode_security_infos(info * MAX_SECURITY_INFOS)) == 64
    with pytest.raises(ParseError, match=r"^more than 64 SecurityInfos$"):
        decode_security_infos(info * (MAX_SECURITY_INFOS + 1))


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (b"\x02\x01\x01", r"^malformed SecurityInfos: a SecurityInfo with tag 2$"),
        (sequence(*[b"\x05\x00"] * 17), "^more than 16 elements in a SecurityInfo$"),
        (sequence(b"\x02\x01\x01"), "^malformed SecurityInfos: protocol tag should have been 6"),
        (sequence(oid(UNKNOWN)), rf"^SecurityInfo {UNKNOWN} without its required data"),
        (sequence(oid(UNKNOWN), b"\xa0\x01\x0d"), "^truncated length$"),
        (
            sequence(oid(ID_PACE_ECDH_GM_AES_128), b"\x02\x01\x02", b"\x05\x00"),
            r"^id-PACE-ECDH-GM-AES-CBC-CMAC-128 PACEInfo: 1 element\(s\) after the last field",
        ),
    ],
)
def test_malformed_security_infos(info: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_card_access(tlv.encode(0x31, info))


def test_uninterpreted_data_is_kept_without_decoding_its_contents() -> None:
    """An unknown protocol's data are checked as BER structure only, then kept raw."""
    info = sequence(oid(UNKNOWN), b"\x80\x01\xff", sequence(b"\x17\x01\x00"))
    assert parse_card_access(tlv.encode(0x31, info)).other == (RawSecurityInfo(UNKNOWN, info),)
