"""READ BINARY with an adaptive block size (ISO/IEC 7816-4 §11.2, 9303-10 §3).

Each file is read by its short EF identifier (ISO/IEC 7816-4 §7.2.2: P1 b8 = 1 selects the
file and reads it in one command; ICAO 9303-10 §4.6 gives every LDS file its identifier),
so no SELECT precedes a read. The block size starts at the largest the link allows
(extended length when the transport supports it and the card has not refused it this
session), steps down on 6700/67xx/6Cxx/6282 and on transport errors, and is kept for
the rest of the session. Offsets above 32767 use READ BINARY with odd INS (B1) and an
offset data object 54.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.errors import (
    CardRemovedError,
    ParseError,
    SecureMessagingError,
    TransportError,
    WrongLengthError,
)
from cardreader.files.ids import LDS_AID, Ef
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import SHORT_MAX_NE, CommandApdu, Ins, send, transmit
from cardreader.iso7816.status import SW1_WRONG_LE, StatusWord, check_status
from cardreader.log import get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)

MAX_EVEN_OFFSET = 0x7FFF
OFFSET_TAG = 0x54
MAX_FILE_SIZE = 1 << 20
"""No LDS file a reader needs is larger than 1 MiB; longer headers are refused."""
SELECT_BY_FID = 0x02
SELECT_BY_NAME = 0x04
NO_RESPONSE_DATA = 0x0C
SFI_FLAG = 0x80

EXTENDED_LADDER = (0xFF00, 0x1000, 0x0400)
SHORT_LADDER = (0xE0, 0xDF, 0xA0, 0x70, 0x40)
"""Plain-data block sizes tried in turn; 223 (0xDF) fits any cipher's SM overhead in a
short response, 256 plain reads need no SM."""

Progress = Callable[[int, int], None]


@dataclass
class BlockSizePolicy:
    """The READ BINARY sizes still allowed on this card; shrinks as the card complains."""

    ladder: list[int] = field(default_factory=list)

    @classmethod
    def for_link(cls, extended: bool, secure: bool) -> BlockSizePolicy:
        short = [size for size in SHORT_LADDER if not secure or size <= 0xDF]
        if not secure:
            short.insert(0, SHORT_MAX_NE)
        return cls([*EXTENDED_LADDER, *short] if extended else short)

    @classmethod
    def fixed(cls, size: int) -> BlockSizePolicy:
        return cls([size])

    @property
    def size(self) -> int:
        return self.ladder[0]

    @property
    def extended(self) -> bool:
        """Sizes above a short Le are still allowed: the card has not refused them."""
        return self.size > SHORT_MAX_NE

    def step_down(self, cap: int | None = None) -> bool:
        """Drop the current size, or cap sizes at ``cap`` when the card named its limit.

        Returns False when nothing smaller is left to try.
        """
        if cap is not None and 0 < cap < self.size:
            self.ladder = sorted({cap, *(size for size in self.ladder if size < cap)}, reverse=True)
            return True
        if len(self.ladder) == 1:
            return False
        self.ladder = self.ladder[1:]
        return True


@dataclass
class ReadStats:
    """APDUs and bytes of a read, for benchmarks and progress."""

    apdus: int = 0
    bytes_read: int = 0


def select_application(transport: Transport, aid: bytes = LDS_AID) -> None:
    """SELECT the eMRTD application by name (ISO/IEC 7816-4 §11.2.2)."""
    send(transport, CommandApdu(0x00, Ins.SELECT, SELECT_BY_NAME, NO_RESPONSE_DATA, aid))


def select_file(transport: Transport, ef: Ef) -> None:
    """SELECT an elementary file by its file identifier."""
    fid = ef.fid.to_bytes(2, "big")
    send(transport, CommandApdu(0x00, Ins.SELECT, SELECT_BY_FID, NO_RESPONSE_DATA, fid))


class FileReader:
    """Reads whole EFs through ``transport`` with one :class:`BlockSizePolicy` per session.

    ``extended=False`` says the card already refused extended length this session (in
    plain, before access control), so the secure channel does not probe it again.
    """

    def __init__(
        self, transport: Transport, policy: BlockSizePolicy | None = None, *, extended: bool = True
    ) -> None:
        self.transport = transport
        secure = isinstance(transport, SecureMessagingTransport)
        self.policy = policy or BlockSizePolicy.for_link(
            extended and transport.supports_extended_length, secure
        )
        self.stats = ReadStats()

    def _read_binary(self, offset: int, length: int, sfi: int | None) -> bytes:
        if sfi is not None:
            command = CommandApdu(0x00, Ins.READ_BINARY, SFI_FLAG | sfi, 0, ne=length)
        elif offset <= MAX_EVEN_OFFSET:
            command = CommandApdu(0x00, Ins.READ_BINARY, offset >> 8, offset & 0xFF, ne=length)
        else:
            data = tlv.encode(OFFSET_TAG, offset.to_bytes(3, "big").lstrip(b"\x00"))
            command = CommandApdu(0x00, Ins.READ_BINARY_ODD, 0, 0, data, ne=length)
        response = transmit(self.transport, command)
        self.stats.apdus += 1
        if response.sw == StatusWord.END_OF_FILE_WARNING and response.data:
            return response.data
        check_status(response.sw)
        if command.ins == Ins.READ_BINARY_ODD:
            return tlv.decode_single(response.data).value if response.data else b""
        return response.data

    def _chunk(self, offset: int, wanted: int | None, sfi: int | None) -> bytes:
        """One READ BINARY of up to ``wanted`` bytes (None: the file length is not known yet),
        stepping the block size down on refusal and on short answers inside the file.

        A card that refuses the very length its last 6Cxx named, or answers more than Le
        asked (ISO/IEC 7816-4 §5.1: Nr <= Ne), is broken or hostile and is refused.
        """
        named: int | None = None
        while True:
            length = self.policy.size if wanted is None else min(wanted, self.policy.size)
            try:
                data = self._read_binary(offset, length, sfi)
            except WrongLengthError as exc:
                exact = (exc.sw & 0xFF or SHORT_MAX_NE) if exc.sw >> 8 == SW1_WRONG_LE else None
                if named == length or not self.policy.step_down(exact):
                    raise
                named = exact
                _log.debug(
                    "card refused Le=%d (%04X); block size now %d", length, exc.sw, self.policy.size
                )
                continue
            except (CardRemovedError, SecureMessagingError):
                raise
            except TransportError:
                # A secure channel closes on any failure: a retry would only mask the cause.
                channel = self.transport
                lost = isinstance(channel, SecureMessagingTransport) and channel.closed
                if lost or not self.policy.step_down():
                    raise
                _log.debug("transport failed at Le=%d; block size now %d", length, self.policy.size)
                continue
            if not data:
                raise ParseError(f"the card returned no data at offset {offset}")
            if len(data) > length:
                raise ParseError(f"the card returned {len(data)} bytes for a read of {length}")
            if wanted is not None and len(data) < length:
                self.policy.step_down(len(data))
            return data

    def read(self, ef: Ef, progress: Progress | None = None) -> bytes:
        """Read the whole of ``ef`` (by its short EF identifier, then by offset in the file
        that read made current); its length comes from the outer TLV header."""
        first = self._chunk(0, None, ef.sfi)
        total = _header_length(first)
        if total > MAX_FILE_SIZE:
            raise ParseError(f"{ef.file_name} claims {total} bytes, more than the 1 MiB bound")
        data = bytearray(first[:total])
        while len(data) < total:
            if progress:
                progress(len(data), total)
            data += self._chunk(len(data), total - len(data), None)
        if progress:
            progress(total, total)
        self.stats.bytes_read += total
        return bytes(data)


def _header_length(first: bytes) -> int:
    """Total file length (header + value) from the first bytes of a TLV-encoded EF."""
    _, header, length = tlv.decode_header(first)
    return header + length
