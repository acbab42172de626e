"""The Answer-to-Reset and what its historical bytes declare (ISO/IEC 7816-3 §8.2,
ISO/IEC 7816-4 §8.1.1).

A card may say in its card capabilities (COMPACT-TLV tag 7, third software function
table, ISO/IEC 7816-4 §8.1.1.2.7) whether it takes extended Lc and Le fields. A card that
says it does not is never sent an extended-length APDU: the file reader starts at short
READ BINARYs instead of learning the card's refusal (issue #16). A card that says nothing,
or an ATR this parser does not understand, leaves that to the refusal as before: the ATR
only ever narrows what is tried. A contactless card's ATR is built by the PC/SC reader
from its ATS (PC/SC part 3 §3.1.3.2.3.1: ``3B 8n 80 01``, the ATS historical bytes, TCK).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cardreader.errors import ParseError

MAX_ATR_BYTES = 33
"""TS and at most 32 further characters (ISO/IEC 7816-3 §8.2.1)."""
GLOBAL_INTERFACE_BYTES = 15
"""T=15 in a TD announces global interface bytes, not a protocol (ISO/IEC 7816-3 §8.2.3)."""


class Convention(enum.IntEnum):
    """TS, the initial character (ISO/IEC 7816-3 §8.1), as PC/SC hands it on."""

    DIRECT = 0x3B
    INVERSE = 0x3F


class CategoryIndicator(enum.IntEnum):
    """The first historical byte (ISO/IEC 7816-4 §8.1.1.1); the others are not read."""

    COMPACT_TLV_STATUS_LAST = 0x00
    """COMPACT-TLV objects, then a three-byte status indicator ending the bytes."""
    COMPACT_TLV = 0x80
    """COMPACT-TLV objects only (a status indicator may be one of them, tag 8)."""


CARD_CAPABILITIES_TAG = 0x7
"""COMPACT-TLV tag of the card capabilities: one to three software function tables."""
EXTENDED_LENGTH_BIT = 0x40
"""Third software function table, b7: extended Lc and Le fields (ISO/IEC 7816-4
§8.1.1.2.7, table 118 in the 2013 edition)."""
STATUS_INDICATOR_BYTES = 3
_INTERFACE_BITS = (0x10, 0x20, 0x40, 0x80)
"""TA, TB, TC and TD present, the high nibble of T0 and of each TD (ISO/IEC 7816-3 §8.2.2)."""
_TD = 0x80


@dataclass(frozen=True, slots=True)
class Atr:
    """An ATR's protocols offered (T=0 when none is indicated) and its historical bytes."""

    protocols: frozenset[int]
    historical: bytes

    @property
    def extended_length(self) -> bool | None:
        """What the card capabilities declare about extended Lc and Le fields; None when
        the historical bytes hold no third software function table."""
        tables = card_capabilities(self.historical)
        if tables is None or len(tables) < 3:
            return None
        return bool(tables[2] & EXTENDED_LENGTH_BIT)


def parse_atr(atr: bytes) -> Atr:
    """Split an ATR into its protocols and historical bytes (ISO/IEC 7816-3 §8.2); the
    check byte TCK, present unless only T=0 is indicated, must make the XOR of T0 to TCK
    zero (§8.2.5). :class:`ParseError` when malformed."""
    if not 2 <= len(atr) <= MAX_ATR_BYTES:
        raise ParseError(f"an ATR has 2 to {MAX_ATR_BYTES} bytes, not {len(atr)}")
    if atr[0] not in tuple(Convention):
        raise ParseError(f"ATR initial character {atr[0]:02X} is neither 3B nor 3F")
    presence, historical_count = atr[1] & 0xF0, atr[1] & 0x0F
    position = 2
    indicated: set[int] = set()
    while presence:  # each further group is announced by a TD read here: bounded
        count = sum(bool(presence & bit) for bit in _INTERFACE_BITS)
        interface = atr[position : position + count]
        if len(interface) != count:
            raise ParseError("ATR cut inside its interface bytes")
        position += count
        if not presence & _TD:
            break
        indicated.add(interface[-1] & 0x0F)  # TD is the last of its group
        presence = interface[-1] & 0xF0
    historical = atr[position : position + historical_count]
    position += historical_count
    if len(historical) != historical_count:
        raise ParseError("ATR cut inside its historical bytes")
    has_check = bool(indicated - {0})
    if len(atr) != position + has_check:
        raise ParseError(f"ATR of {len(atr)} bytes; its structure gives {position + has_check}")
    if has_check and _xor(atr[1:]) != 0:
        raise ParseError("ATR check byte TCK does not match")
    protocols = frozenset(indicated - {GLOBAL_INTERFACE_BYTES}) or frozenset({0})
    return Atr(protocols, historical)


def _xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def card_capabilities(historical: bytes) -> bytes | None:
    """The software function tables of the card capabilities object (COMPACT-TLV tag 7),
    None when the historical bytes are not COMPACT-TLV or hold none. :class:`ParseError`
    when the COMPACT-TLV objects overrun the bytes (ISO/IEC 7816-4 §8.1.1.2)."""
    if not historical:
        return None
    try:
        category = CategoryIndicator(historical[0])
    except ValueError:
        return None  # a DIR data reference, RFU or proprietary: nothing said here
    objects = historical[1:]
    if category is CategoryIndicator.COMPACT_TLV_STATUS_LAST:
        if len(objects) < STATUS_INDICATOR_BYTES:
            raise ParseError("historical bytes without their status indicator")
        objects = objects[:-STATUS_INDICATOR_BYTES]
    position, found = 0, None
    while position < len(objects):  # each object takes at least its header byte
        tag, length = objects[position] >> 4, objects[position] & 0x0F
        value = objects[position + 1 : position + 1 + length]
        if len(value) != length:
            raise ParseError(f"COMPACT-TLV object {objects[position]:02X} overruns the bytes")
        if tag == CARD_CAPABILITIES_TAG:
            found = value
        position += 1 + length
    return found


def extended_length_declared(atr: bytes) -> bool | None:
    """What ``atr`` declares about extended Lc and Le fields (:attr:`Atr.extended_length`);
    None when it declares nothing or does not parse."""
    try:
        return parse_atr(atr).extended_length
    except ParseError:
        return None


def extended_length_allowed(link: bool, atr: bytes) -> bool:
    """Whether extended-length APDUs are worth trying: the link carries them and the card's
    ``atr`` does not declare that it takes none (see the module docstring)."""
    return link and extended_length_declared(atr) is not False
