"""The ATR and its card capabilities (ISO/IEC 7816-3 §8.2, ISO/IEC 7816-4 §8.1.1).

Vectors: the YubiKey 5's ATR as listed in Ludovic Rousseau's public smart card list
(``smartcard_list.txt``: historical bytes in COMPACT-TLV, card capabilities C0 21 C0,
extended length declared); the Schlumberger Multiflex 3k's ``3B 02 14 50`` from the same
list (T=0 only, so no TCK, two proprietary historical bytes); the others built here by the
standard's rules, their check byte computed by the simulator's ``contactless_atr``.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError
from cardreader.iso7816.atr import (
    Atr,
    card_capabilities,
    extended_length_allowed,
    extended_length_declared,
    parse_atr,
)
from simulators.chip.card import DEFAULT_ATR, SHORT_LENGTH_ATR, contactless_atr

YUBIKEY_5 = bytes.fromhex("3BFD1300008131FE158073C021C057597562694B657940")
MULTIFLEX_3K = bytes.fromhex("3B021450")


def test_a_real_atr_declaring_extended_length() -> None:
    atr = parse_atr(YUBIKEY_5)
    assert atr == Atr(frozenset({1}), bytes.fromhex("8073C021C0") + b"\x57YubiKey")
    assert card_capabilities(atr.historical) == bytes.fromhex("C021C0")
    assert atr.extended_length is True
    assert extended_length_allowed(True, YUBIKEY_5) is True


def test_a_t0_atr_has_no_check_byte_and_says_nothing() -> None:
    assert parse_atr(MULTIFLEX_3K) == Atr(frozenset({0}), bytes.fromhex("1450"))
    assert extended_length_declared(MULTIFLEX_3K) is None


def test_the_simulators_atrs() -> None:
    assert SHORT_LENGTH_ATR.hex() == "3b858001807394210042"
    assert parse_atr(SHORT_LENGTH_ATR) == Atr(frozenset({0, 1}), bytes.fromhex("8073942100"))
    assert extended_length_declared(SHORT_LENGTH_ATR) is False
    assert extended_length_allowed(True, SHORT_LENGTH_ATR) is False
    assert parse_atr(DEFAULT_ATR).historical == b"BACKCCDC"  # proprietary: says nothing
    assert extended_length_allowed(True, DEFAULT_ATR) is True


@pytest.mark.parametrize(
    ("historical", "declared"),
    [
        ("0073942140" + "009000", True),  # category 00: the status indicator ends the bytes
        ("0073942100" + "009000", False),
        ("807294" + "21", None),  # two tables only: the third, with b7, is absent
        ("80" + "31C0" + "739421C0" + "829000", True),  # service data, capabilities, status
        ("10" + "AB", None),  # a DIR data reference
        ("", None),
    ],
)
def test_card_capabilities_in_the_historical_bytes(historical: str, declared: bool | None) -> None:
    atr = contactless_atr(bytes.fromhex(historical))
    assert parse_atr(atr).extended_length is declared
    assert extended_length_allowed(True, atr) is (declared is not False)
    assert extended_length_allowed(False, atr) is False


@pytest.mark.parametrize(
    ("atr", "message"),
    [
        (b"\x3b", "an ATR has 2 to 33 bytes, not 1"),
        (bytes(34), "an ATR has 2 to 33 bytes, not 34"),
        (bytes.fromhex("3C021450"), "ATR initial character 3C is neither 3B nor 3F"),
        (bytes.fromhex("3BF0"), "ATR cut inside its interface bytes"),
        (bytes.fromhex("3B0514"), "ATR cut inside its historical bytes"),
        (MULTIFLEX_3K + b"\x00", "ATR of 5 bytes; its structure gives 4"),
        (SHORT_LENGTH_ATR[:-1] + b"\x43", "ATR check byte TCK does not match"),
    ],
)
def test_a_malformed_atr_is_refused_and_declares_nothing(atr: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{message}$"):
        parse_atr(atr)
    assert extended_length_declared(atr) is None
    assert extended_length_allowed(True, atr) is True  # the card's refusal still teaches


def test_compact_tlv_objects_that_overrun_are_refused() -> None:
    with pytest.raises(ParseError, match=r"^COMPACT-TLV object 73 overruns the bytes$"):
        card_capabilities(bytes.fromhex("807394"))
    with pytest.raises(ParseError, match=r"^historical bytes without their status indicator$"):
        card_capabilities(bytes.fromhex("009000"))
    assert extended_length_declared(contactless_atr(bytes.fromhex("807394"))) is None


@given(st.binary(max_size=40))
@settings(max_examples=500)
def test_any_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        atr = parse_atr(data)
    except ParseError:
        return
    assert len(atr.historical) <= 15
    with contextlib.suppress(ParseError):  # a COMPACT-TLV overrun is the only other outcome
        card_capabilities(atr.historical)
