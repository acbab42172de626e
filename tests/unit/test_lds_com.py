"""EF.COM (ICAO 9303-10 §4.6.1) and the LDS tag table.

The BSI TR-03105-5 reference data set's EF.COM (tests/vectors/bsi-tr03105-5/EF_COM.bin)
lists DG1, DG2, DG3, DG4 and DG14 under LDS 1.7, Unicode 4.0.0.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError
from cardreader.files.ids import Ef
from cardreader.iso7816 import tlv
from cardreader.lds.com import EfCom, parse_com
from cardreader.lds.tags import EF_BY_TAG, LdsTag, unwrap
from tests.vectors import BSI_DATASET


def com(tag_list: bytes, lds: bytes = b"0107", unicode: bytes | None = b"040000") -> bytes:
    body = tlv.encode(0x5F01, lds)
    if unicode is not None:
        body += tlv.encode(0x5F36, unicode)
    return tlv.encode(0x60, body + tlv.encode(0x5C, tag_list))


def test_bsi_ef_com() -> None:
    parsed = parse_com((BSI_DATASET / "EF_COM.bin").read_bytes())
    assert parsed == EfCom(
        lds_version="0107",
        unicode_version="040000",
        data_groups=(Ef.DG1, Ef.DG2, Ef.DG3, Ef.DG4, Ef.DG14),
    )
    assert parsed.lds_version_number == (1, 7)
    assert parsed.unicode_version_number == (4, 0, 0)


def test_cccd_tag_list() -> None:
    parsed = parse_com(com(bytes.fromhex("6175636D6E6F")))
    assert parsed.data_groups == (Ef.DG1, Ef.DG2, Ef.DG3, Ef.DG13, Ef.DG14, Ef.DG15)
    assert parsed.unknown_tags == ()


def test_unknown_and_repeated_tags_are_kept_once() -> None:
    parsed = parse_com(com(bytes.fromhex("61 7F 61 77 7F")))
    assert parsed.data_groups == (Ef.DG1,)
    assert parsed.unknown_tags == (0x7F, 0x77)


def test_unicode_version_may_be_absent() -> None:
    parsed = parse_com(com(b"\x61", unicode=None))
    assert parsed.unicode_version is None
    assert parsed.unicode_version_number is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tlv.encode(0x61, tlv.encode(0x5F1F, b"x")), "EF.COM|COM must start with tag 60"),
        (tlv.encode(0x60, tlv.encode(0x5C, b"\x61")), "5F01 missing"),
        (tlv.encode(0x60, tlv.encode(0x5F01, b"0107")), "5C missing"),
        (com(b"\x61", lds=b"107"), "LDS version must be 4 ASCII digits"),
        (com(b"\x61", lds=b"01a7"), "LDS version must be 4 ASCII digits"),
        (com(b"\x61", unicode=b"0400"), "Unicode version must be 6 ASCII digits"),
        (com(b"\x61") + b"\x00", "trailing bytes"),
    ],
)
def test_malformed_ef_com(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_com(data)


def test_tag_table_matches_file_ids() -> None:
    assert EF_BY_TAG[0x75] is Ef.DG2
    assert EF_BY_TAG[0x6D] is Ef.DG13
    assert EF_BY_TAG[0x77] is Ef.SOD
    assert len(EF_BY_TAG) == 18
    assert {LdsTag(tag).ef.name for tag in EF_BY_TAG} == {name for name in Ef.__members__} - {
        "CARD_ACCESS",
        "CARD_SECURITY",
    }


def test_unwrap_refuses_another_file() -> None:
    with pytest.raises(ParseError, match="DG1 must start with tag 61, not 75"):
        unwrap(tlv.encode(0x75, b""), LdsTag.DG1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parsed = parse_com(data)
        assert len(parsed.lds_version) == 4


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=24), st.integers(min_value=0, max_value=255))
def test_mutated_bsi_ef_com_raises_only_parse_error(position: int, byte: int) -> None:
    data = bytearray((BSI_DATASET / "EF_COM.bin").read_bytes())
    data[position] = byte
    with contextlib.suppress(ParseError):
        parsed = parse_com(bytes(data))
        assert len(parsed.data_groups) + len(parsed.unknown_tags) <= 5
