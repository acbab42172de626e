"""Command and response APDUs with short and extended length (ISO/IEC 7816-4 §5.1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cardreader.errors import ParseError
from cardreader.iso7816.status import check_status
from cardreader.transport.base import Transport

SHORT_MAX_LC = 255
SHORT_MAX_NE = 256
EXTENDED_MAX_LC = 65535
EXTENDED_MAX_NE = 65536


class Ins(enum.IntEnum):
    """Instruction bytes used by eMRTD access and reading (ICAO 9303-10/11)."""

    MSE = 0x22
    MUTUAL_AUTHENTICATE = 0x82
    GET_CHALLENGE = 0x84
    GENERAL_AUTHENTICATE = 0x86
    INTERNAL_AUTHENTICATE = 0x88
    SELECT = 0xA4
    READ_BINARY = 0xB0
    READ_BINARY_ODD = 0xB1
    GET_RESPONSE = 0xC0


class Cla(enum.IntFlag):
    """Class byte bits (ISO/IEC 7816-4 §5.4.1)."""

    PLAIN = 0x00
    COMMAND_CHAINING = 0x10
    SECURE_MESSAGING = 0x0C


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU; ``ne`` is the expected response length (None: no Le field).

    ``ne`` = 256 (short) or 65536 (extended) mean "as much as available".
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    ne: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} must be one byte")
        if len(self.data) > EXTENDED_MAX_LC:
            raise ValueError("command data longer than 65535 bytes")
        if self.ne is not None and not 1 <= self.ne <= EXTENDED_MAX_NE:
            raise ValueError("ne must be within 1..65536")

    @property
    def needs_extended(self) -> bool:
        """Whether the command only fits the extended-length encoding."""
        return len(self.data) > SHORT_MAX_LC or (self.ne or 0) > SHORT_MAX_NE

    def encode(self, extended: bool | None = None) -> bytes:
        """Encode as bytes; ``extended`` None picks short length when it fits (§5.1)."""
        ext = self.needs_extended if extended is None else extended
        if not ext and self.needs_extended:
            raise ValueError("command does not fit short length")
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if ext:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.ne is not None:
                le = (self.ne % EXTENDED_MAX_NE).to_bytes(2, "big")
                out += le if self.data else b"\x00" + le
        else:
            if self.data:
                out += bytes((len(self.data),)) + self.data
            if self.ne is not None:
                out.append(self.ne % SHORT_MAX_NE)
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Parse a command APDU in any of the ISO 7816-4 cases, short or extended."""
        if len(raw) < 4:
            raise ParseError(f"command APDU of {len(raw)} bytes is shorter than its header")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, ne=body[0] or SHORT_MAX_NE)
        if body[0] != 0:
            lc = body[0]
            rest = body[1:]
            if len(rest) == lc:
                return cls(cla, ins, p1, p2, rest)
            if len(rest) == lc + 1:
                return cls(cla, ins, p1, p2, rest[:lc], rest[lc] or SHORT_MAX_NE)
            raise ParseError("short command APDU length does not match Lc")
        if len(body) == 3:
            return cls(cla, ins, p1, p2, ne=int.from_bytes(body[1:3], "big") or EXTENDED_MAX_NE)
        if len(body) < 3:
            raise ParseError("truncated extended length field")
        lc = int.from_bytes(body[1:3], "big")
        rest = body[3:]
        if lc == 0:
            raise ParseError("extended Lc of zero")
        if len(rest) == lc:
            return cls(cla, ins, p1, p2, rest)
        if len(rest) == lc + 2:
            ne = int.from_bytes(rest[lc:], "big") or EXTENDED_MAX_NE
            return cls(cla, ins, p1, p2, rest[:lc], ne)
        raise ParseError("extended command APDU length does not match Lc")


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: data field and the status word SW1-SW2 as one integer."""

    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise ParseError(f"response of {len(raw)} bytes has no status word")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


def transmit(transport: Transport, apdu: CommandApdu, extended: bool | None = None) -> ResponseApdu:
    """Send ``apdu`` and return the response without interpreting the status word."""
    return ResponseApdu.decode(transport.transmit(apdu.encode(extended)))


def send(transport: Transport, apdu: CommandApdu, extended: bool | None = None) -> ResponseApdu:
    """Send ``apdu``; raise the matching :class:`StatusWordError` unless SW is 9000."""
    response = transmit(transport, apdu, extended)
    check_status(response.sw)
    return response
