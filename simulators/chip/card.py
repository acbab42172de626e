"""A virtual eMRTD chip: ISO 7816-4 file system, BAC, PACE, secure messaging, CA and AA.

The chip answers raw command APDUs with raw responses (the ``CardModel`` protocol of
:mod:`simulators.vpcd`), so it runs in process or behind pcscd alike. Its state machines
are its own: tests check the reader against this independent model of the card.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from cardreader.access.bac import BacKeys
from cardreader.access.secure_messaging import protected_response_length
from cardreader.crypto.cipher import BlockCipher, decrypt_cbc, encrypt_cbc, retail_mac
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu
from simulators.chip.sm import ChipSmSession, SmViolationError

LDS_AID = bytes.fromhex("A0000002471001")
CARD_ACCESS_FID = 0x011C
CARD_SECURITY_FID = 0x011D
"""EF.CardSecurity in the master file; inside the eMRTD application 011D is EF.SOD."""


def contactless_atr(historical: bytes) -> bytes:
    """The ATR a PC/SC reader builds for a contactless card from its ATS historical bytes
    (PC/SC part 3 §3.1.3.2.3.1): 3B 8n 80 01, the bytes, and the check byte TCK that makes
    the XOR of T0 to TCK zero (ISO/IEC 7816-3 §8.2.5)."""
    body = bytes((0x80 | len(historical), 0x80, 0x01)) + historical
    check = 0
    for byte in body:
        check ^= byte
    return b"\x3b" + body + bytes((check,))


DEFAULT_ATR = contactless_atr(b"BACKCCDC")
"""Proprietary historical bytes: the ATR says nothing of the card's capabilities."""
SHORT_LENGTH_ATR = contactless_atr(bytes.fromhex("80739421 00"))
"""Historical bytes in COMPACT-TLV (category 80) with card capabilities (tag 7): selection
by DF name, file identifier and short EF identifier (94), data coding 21, and a third
table with b7 clear: no extended Lc and Le fields (ISO/IEC 7816-4 §8.1.1.2.7)."""
CHIP_AUTHENTICATION_MSE = frozenset({(0x41, 0xA4), (0x41, 0xA6)})
"""MSE P1-P2 of Chip Authentication (Set AT, Set KAT); PACE uses C1 A4 (ICAO 9303-11 §6.2)."""


class Sw(enum.IntEnum):
    """Status words this chip answers with (ISO/IEC 7816-4 §5.6)."""

    OK = 0x9000
    END_OF_FILE = 0x6282
    AUTH_FAILED = 0x6300
    WRONG_LENGTH = 0x6700
    SECURITY_NOT_SATISFIED = 0x6982
    CONDITIONS_NOT_SATISFIED = 0x6985
    SM_OBJECTS_MISSING = 0x6987
    SM_OBJECTS_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00


class Access(enum.Enum):
    """What opened the chip."""

    NONE = "none"
    BAC = "BAC"
    PACE = "PACE"


@dataclass(frozen=True)
class ChipConfig:
    """The chip's content and capabilities.

    ``files`` maps file identifiers to contents; ``protected`` lists files that answer
    6982 even after access control (DG3/DG4 need Terminal Authentication).
    ``card_security`` is EF.CardSecurity, selected in the master file (before the
    application) and readable after PACE (BSI TR-03110-3 §A.1.2.5).
    """

    files: Mapping[int, bytes]
    card_security: bytes | None = None
    mrz_information: str | None = None
    extended_length: bool = True
    max_le: int = 65536
    protected: frozenset[int] = frozenset({0x0103, 0x0104})
    atr: bytes = DEFAULT_ATR


Handler = Callable[[CommandApdu], tuple[bytes, int]]


class ApduCard:
    """Parses APDUs, applies secure messaging and dispatches on INS."""

    def __init__(self, atr: bytes) -> None:
        self.atr = atr
        self.sm: ChipSmSession | None = None
        self.apdu_count = 0

    def reset(self) -> None:
        self.sm = None

    def handlers(self) -> dict[int, Handler]:
        """INS → handler; a card with no applications answers 6D00 to everything."""
        return {}

    def process(self, apdu: bytes) -> bytes:
        self.apdu_count += 1
        try:
            command = CommandApdu.decode(apdu)
        except (ParseError, ValueError):
            return Sw.WRONG_LENGTH.to_bytes(2, "big")
        secured = bool(command.cla & 0x0C)
        if self.sm is not None:
            if not secured:
                self.on_sm_broken()
                return Sw.SM_OBJECTS_MISSING.to_bytes(2, "big")
            try:
                command = self.sm.unwrap(command)
            except SmViolationError:
                self.on_sm_broken()
                return Sw.SM_OBJECTS_INCORRECT.to_bytes(2, "big")
        elif secured:
            return Sw.CONDITIONS_NOT_SATISFIED.to_bytes(2, "big")
        session = self.sm
        handler = self.handlers().get(command.ins)
        data, sw = handler(command) if handler else (b"", Sw.INS_NOT_SUPPORTED)
        if session is not None:  # new keys from this command apply to the next one
            return session.wrap(data, sw, odd_ins=bool(command.ins & 1))
        return data + int(sw).to_bytes(2, "big")

    def on_sm_broken(self) -> None:
        """A chip tears its session down after any secure-messaging error."""
        self.sm = None


@dataclass
class _Selection:
    application: bool = False
    fid: int | None = None
    master_file: bool = False
    """The selected file is EF.CardSecurity of the master file."""


class EmrtdChip(ApduCard):
    """An eMRTD application with BAC and, optionally, PACE, Chip and Active Authentication."""

    def __init__(
        self,
        config: ChipConfig,
        pace: PaceResponder | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
        *,
        chip_authentication: ChipAuthResponder | None = None,
        active_authentication: ActiveAuthResponder | None = None,
    ) -> None:
        super().__init__(config.atr)
        self.config = config
        self.pace = pace
        self.chip_authentication = chip_authentication
        self.active_authentication = active_authentication
        self._chip_authenticating = False
        self.random = random
        self.access = Access.NONE
        self.selection = _Selection()
        self.challenge: bytes | None = None
        self.bac_keys = (
            BacKeys.from_mrz_information(config.mrz_information) if config.mrz_information else None
        )

    def reset(self) -> None:
        super().reset()
        self.access = Access.NONE
        self.selection = _Selection()
        self.challenge = None
        self._chip_authenticating = False
        if self.pace:
            self.pace.reset()
        if self.chip_authentication:
            self.chip_authentication.reset()

    def on_sm_broken(self) -> None:
        super().on_sm_broken()
        self.access = Access.NONE

    def handlers(self) -> dict[int, Handler]:
        return {
            0xA4: self._select,
            0xB0: self._read_binary,
            0xB1: self._read_binary_odd,
            0x84: self._get_challenge,
            0x82: self._mutual_authenticate,
            0x22: self._mse,
            0x86: self._general_authenticate,
            0x88: self._internal_authenticate,
        }

    # --- files -----------------------------------------------------------------------
    def _readable(self, fid: int) -> bool:
        if fid == CARD_ACCESS_FID:
            return True
        return self.access is not Access.NONE and fid not in self.config.protected

    def _select(self, command: CommandApdu) -> tuple[bytes, int]:
        if command.p1 == 0x04:
            if command.data != LDS_AID:
                return b"", Sw.FILE_NOT_FOUND
            self.selection = _Selection(application=True)
            return b"", Sw.OK
        if command.p1 in (0x00, 0x02) and len(command.data) == 2:
            fid = int.from_bytes(command.data, "big")
            if fid == CARD_SECURITY_FID and not self.selection.application:
                return self._select_card_security()
            if fid not in self.config.files:
                return b"", Sw.FILE_NOT_FOUND
            if (
                fid != CARD_ACCESS_FID
                and not self._readable(fid)
                and fid not in self.config.protected
            ):
                return b"", Sw.SECURITY_NOT_SATISFIED
            self.selection.fid = fid
            self.selection.master_file = False
            return b"", Sw.OK
        return b"", Sw.WRONG_P1P2

    def _select_card_security(self) -> tuple[bytes, int]:
        if self.config.card_security is None:
            return b"", Sw.FILE_NOT_FOUND
        if self.access is not Access.PACE:
            return b"", Sw.SECURITY_NOT_SATISFIED
        self.selection = _Selection(fid=CARD_SECURITY_FID, master_file=True)
        return b"", Sw.OK

    def _read(self, fid: int | None, offset: int, ne: int | None) -> tuple[bytes, int]:
        if self.selection.master_file and fid == CARD_SECURITY_FID:
            content = self.config.card_security
            assert content is not None  # selected only when present
        elif fid is None or fid not in self.config.files:
            return b"", Sw.CONDITIONS_NOT_SATISFIED
        elif not self._readable(fid):
            return b"", Sw.SECURITY_NOT_SATISFIED
        else:
            content = self.config.files[fid]
        length = ne or 256
        if length > min(self.config.max_le, self._response_limit()):
            return b"", Sw.WRONG_LENGTH
        if offset > len(content):
            return b"", Sw.WRONG_P1P2
        chunk = content[offset : offset + length]
        return chunk, Sw.OK if len(chunk) == length else Sw.END_OF_FILE

    def _response_limit(self) -> int:
        """The most plain bytes one response can carry on this link (short: 256 on the wire)."""
        if self.config.extended_length:
            return 65536
        if self.sm is None:
            return 256
        cipher = self.sm.alg.cipher
        return max(n for n in range(257) if protected_response_length(n, cipher) <= 256)

    def _read_binary(self, command: CommandApdu) -> tuple[bytes, int]:
        """READ BINARY; P1 b8 = 1 names the file by its short EF identifier and selects it
        (ISO/IEC 7816-4 §7.2.2): 1D is EF.CardSecurity in the master file, EF.SOD inside
        the application."""
        if command.p1 & 0x80:
            sfi = command.p1 & 0x1F
            if sfi == CARD_SECURITY_FID & 0xFF and not self.selection.application:
                refusal = self._select_card_security()
                if refusal[1] != Sw.OK:
                    return refusal
                return self._read(CARD_SECURITY_FID, command.p2, command.ne)
            fid = next((f for f in self.config.files if f & 0xFF == sfi and f >> 8 == 0x01), None)
            if fid is None:
                return b"", Sw.FILE_NOT_FOUND
            self.selection.fid = fid
            self.selection.master_file = False
            return self._read(fid, command.p2, command.ne)
        return self._read(self.selection.fid, (command.p1 << 8) | command.p2, command.ne)

    def _read_binary_odd(self, command: CommandApdu) -> tuple[bytes, int]:
        try:
            offset_obj = tlv.decode_single(command.data)
        except ParseError:
            return b"", Sw.WRONG_DATA
        if offset_obj.tag != 0x54 or not 1 <= len(offset_obj.value) <= 3:
            return b"", Sw.WRONG_DATA
        data, sw = self._read(
            self.selection.fid, int.from_bytes(offset_obj.value, "big"), command.ne
        )
        if not data:
            return data, sw
        return tlv.encode(0x53, data), sw

    # --- BAC (ICAO 9303-11 §4.3) ------------------------------------------------------
    def _get_challenge(self, command: CommandApdu) -> tuple[bytes, int]:
        if command.ne != 8:
            return b"", Sw.WRONG_LENGTH
        self.challenge = self.random(8)
        return self.challenge, Sw.OK

    def _mutual_authenticate(self, command: CommandApdu) -> tuple[bytes, int]:
        challenge, self.challenge = self.challenge, None
        if self.bac_keys is None or challenge is None or len(command.data) != 40:
            return b"", Sw.CONDITIONS_NOT_SATISFIED
        keys = self.bac_keys
        e_ifd, m_ifd = command.data[:32], command.data[32:]
        if retail_mac(keys.k_mac, e_ifd) != m_ifd:
            return b"", Sw.SECURITY_NOT_SATISFIED
        plain = decrypt_cbc(BlockCipher.TDES, keys.k_enc, e_ifd)
        rnd_ifd, rnd_ic, k_ifd = plain[:8], plain[8:16], plain[16:]
        if rnd_ic != challenge:
            return b"", Sw.SECURITY_NOT_SATISFIED
        k_ic = self.random(16)
        e_ic = encrypt_cbc(BlockCipher.TDES, keys.k_enc, rnd_ic + rnd_ifd + k_ic)
        seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
        response = e_ic + retail_mac(keys.k_mac, e_ic)
        self._open(
            Access.BAC,
            ChipSmSession(
                KeyAlgorithm.TDES,
                derive_key(seed, KdfCounter.ENC, KeyAlgorithm.TDES),
                derive_key(seed, KdfCounter.MAC, KeyAlgorithm.TDES),
                int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"),
            ),
        )
        return response, Sw.OK

    def _open(self, access: Access, session: ChipSmSession) -> None:
        """Access granted; the answer to the granting command itself still goes out plain."""
        self.access = access
        self.sm = session

    # --- PACE (ICAO 9303-11 §4.4) -----------------------------------------------------
    def _pace_step(self, command: CommandApdu) -> tuple[bytes, int]:
        if self.pace is None:
            return b"", Sw.INS_NOT_SUPPORTED
        data, sw, keys = self.pace.respond(command)
        if keys is not None:
            alg, ks_enc, ks_mac = keys
            self._open(Access.PACE, ChipSmSession(alg, ks_enc, ks_mac, 0))
        return data, sw

    # --- Chip and Active Authentication (ICAO 9303-11 §6.2, §6.1) -----------------------
    def _mse(self, command: CommandApdu) -> tuple[bytes, int]:
        self._chip_authenticating = (command.p1, command.p2) in CHIP_AUTHENTICATION_MSE
        return self._general_authenticate(command)

    def _general_authenticate(self, command: CommandApdu) -> tuple[bytes, int]:
        """GENERAL AUTHENTICATE belongs to the protocol the last MSE selected."""
        if not self._chip_authenticating:
            return self._pace_step(command)
        if self.chip_authentication is None:
            return b"", Sw.WRONG_P1P2
        if self.sm is None:
            return b"", Sw.CONDITIONS_NOT_SATISFIED
        data, sw, keys = self.chip_authentication.respond(command)
        if keys is not None:  # this answer still goes out under the old keys
            alg, ks_enc, ks_mac = keys
            self.sm = ChipSmSession(alg, ks_enc, ks_mac, 0)
        return data, sw

    def _internal_authenticate(self, command: CommandApdu) -> tuple[bytes, int]:
        if self.active_authentication is None:
            return b"", Sw.INS_NOT_SUPPORTED
        if self.access is Access.NONE:
            return b"", Sw.SECURITY_NOT_SATISFIED
        return self.active_authentication.respond(command)


class PaceResponder(Protocol):
    """The chip's PACE half as the card model sees it (see :mod:`simulators.chip.pace`)."""

    def reset(self) -> None: ...

    def respond(
        self, command: CommandApdu
    ) -> tuple[bytes, int, tuple[KeyAlgorithm, bytes, bytes] | None]:
        """Answer MSE:Set AT or GENERAL AUTHENTICATE; return session keys once done."""
        ...


class ChipAuthResponder(Protocol):
    """The chip's Chip Authentication half (see :mod:`simulators.chip.chip_auth`)."""

    def reset(self) -> None: ...

    def respond(
        self, command: CommandApdu
    ) -> tuple[bytes, int, tuple[KeyAlgorithm, bytes, bytes] | None]:
        """Answer MSE:Set KAT/AT or GENERAL AUTHENTICATE; return the new keys once agreed."""
        ...


class ActiveAuthResponder(Protocol):
    """The chip's Active Authentication half (see :mod:`simulators.chip.active_auth`)."""

    def respond(self, command: CommandApdu) -> tuple[bytes, int]:
        """Answer INTERNAL AUTHENTICATE with the signature over the challenge."""
        ...
