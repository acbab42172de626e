"""DG1 (ICAO 9303-10 §4.7.1): the MRZ in ``61 { 5F1F }``.

Vectors: the BSI TR-03105-5 specimen passport (tests/vectors/bsi-tr03105-5/Datagroup1.bin,
TD3) and the CCCD TD1 layout of docs/domain.md §2 as the card simulator lays it out.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.lds.dg1 import parse_dg1
from cardreader.mrz import MrzFormat
from simulators.chip.sample import SampleCard
from tests.vectors import BSI_DATASET

BSI_DG1 = (BSI_DATASET / "Datagroup1.bin").read_bytes()


def dg1(mrz: bytes) -> bytes:
    return tlv.encode(0x61, tlv.encode(0x5F1F, mrz))


def test_bsi_td3() -> None:
    mrz = parse_dg1(BSI_DG1)
    assert mrz.format is MrzFormat.TD3
    assert (mrz.document_code, mrz.issuing_state, mrz.nationality) == ("P", "D", "D")
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("MUSTERMANN", "ERIKA")
    assert (mrz.document_number, mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == (
        "C11T002JM",
        "960812",
        "F",
        "231031",
    )
    assert [(cd.name, cd.printed, cd.valid) for cd in mrz.check_digits] == [
        ("document number", "4", True),
        ("date of birth", "2", True),
        ("date of expiry", "4", True),
        ("optional data", "<", True),
        ("composite", "4", True),
    ]
    assert mrz.valid


def test_cccd_td1() -> None:
    card = SampleCard()
    mrz = parse_dg1(dg1(card.td1().replace("\n", "").encode()))
    assert mrz.format is MrzFormat.TD1
    assert (mrz.document_code, mrz.issuing_state) == ("ID", "VNM")
    assert mrz.document_number == "185012345"
    assert mrz.optional_data_1 == "079185012345<<9"
    assert (mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == ("850315", "F", "250315")
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("NGUYEN", "THI HOA")
    assert [cd.name for cd in mrz.check_digits] == [
        "document number",
        "date of birth",
        "date of expiry",
        "composite",
    ]
    assert mrz.valid


def test_bad_check_digit_is_reported_not_raised() -> None:
    text = bytearray(BSI_DG1[5:])
    text[44 + 9] = ord("5")  # document number check digit 4 → 5
    mrz = parse_dg1(dg1(bytes(text)))
    failed = [cd for cd in mrz.check_digits if not cd.valid]
    assert [(cd.name, cd.printed, cd.computed) for cd in failed] == [
        ("document number", "5", "4"),
        ("composite", "4", "1"),
    ]
    assert not mrz.valid


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tlv.encode(0x60, b""), "DG1 must start with tag 61"),
        (tlv.encode(0x61, tlv.encode(0x5F1E, b"")), "5F1F missing"),
        (dg1("P<D<<É".ljust(88, "<").encode()), "non-ASCII"),
        (dg1(b"P<D<<MUSTERMANN"), "an MRZ has 90, 72 or 88 characters, not 15"),
        (dg1(b"p" * 88 + b"\x00"), "an MRZ has 90, 72 or 88 characters, not 89"),
        (dg1(b"*" * 90), "characters outside A-Z"),
        (BSI_DG1 + b"\x90\x00", "trailing bytes"),
    ],
)
def test_malformed_dg1(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_dg1(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_dg1(data)
        pytest.fail("random bytes parsed as DG1")


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=len(BSI_DG1) - 1), st.integers(0, 255))
def test_mutated_bsi_dg1_raises_only_parse_error(position: int, byte: int) -> None:
    data = bytearray(BSI_DG1)
    data[position] = byte
    with contextlib.suppress(ParseError):
        mrz = parse_dg1(bytes(data))
        assert mrz.format is MrzFormat.TD3
