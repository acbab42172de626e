"""The chip's half of PACE: an independent state machine (ICAO 9303-11 §4.4).

The chip holds its passwords (MRZ information and/or CAN) and the protocols it offers in
EF.CardAccess. It answers MSE:Set AT and the four chained GENERAL AUTHENTICATE commands;
after the terminal's token verifies it exposes the session keys, so a card model can
switch to secure messaging (SSC 0). The arithmetic comes from cardreader's spec-pinned
primitives (cipher, KDF, groups, mappings, tokens); the protocol flow, the reading of the
OID and the password encoding are this module's own.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from cardreader.crypto.cipher import encrypt_cbc
from cardreader.crypto.domain_params import standardized_domain_parameters
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.crypto.pace_mapping import (
    PaceGroup,
    RandomSource,
    authentication_token,
    chip_authentication_data,
    encrypt_chip_authentication_data,
    nonce_length,
    pace_group,
    tokens_equal,
)
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu, Ins, ResponseApdu

SessionKeys = tuple[KeyAlgorithm, bytes, bytes]
"""``(algorithm, KS_enc, KS_mac)`` once PACE succeeded."""

ID_PACE_ARCS = (0, 4, 0, 127, 0, 7, 2, 2, 4)
"""id-PACE (ICAO 9303-11 §9.2.3); a protocol OID adds a family and a cipher arc."""


class Sw(enum.IntEnum):
    """Status words of the PACE commands (ICAO 9303-11 §4.4.4)."""

    OK = 0x9000
    AUTHENTICATION_FAILED = 0x6300
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00


MSE_SET_AT = (0xC1, 0xA4)
"""P1-P2 of MSE:Set AT for mutual authentication."""
CHAINING = 0x10
"""CLA bit: more commands of the chain follow (ISO/IEC 7816-4 §5.4.1)."""


class MseTag(enum.IntEnum):
    """Data objects of MSE:Set AT (ICAO 9303-11 §4.4.4.1)."""

    MECHANISM = 0x80
    PASSWORD = 0x83
    PARAMETER_ID = 0x84


class Tag(enum.IntEnum):
    """Dynamic authentication data objects (ICAO 9303-11 §4.4.4.2, table 4)."""

    DYNAMIC_AUTHENTICATION_DATA = 0x7C
    ENCRYPTED_NONCE = 0x80
    MAPPING_IN = 0x81
    MAPPING_OUT = 0x82
    KEY_IN = 0x83
    KEY_OUT = 0x84
    TOKEN_IN = 0x85
    TOKEN_OUT = 0x86
    CHIP_AUTHENTICATION_DATA = 0x8A


class Password(enum.IntEnum):
    MRZ = 1
    CAN = 2


class Mapping(enum.Enum):
    GENERIC = "GM"
    INTEGRATED = "IM"
    CHIP_AUTHENTICATION = "CAM"


FAMILIES: dict[int, tuple[bool, Mapping]] = {
    1: (False, Mapping.GENERIC),
    2: (True, Mapping.GENERIC),
    3: (False, Mapping.INTEGRATED),
    4: (True, Mapping.INTEGRATED),
    6: (True, Mapping.CHIP_AUTHENTICATION),
}
"""Family arc after id-PACE → (elliptic curve?, mapping)."""

CIPHERS: dict[int, KeyAlgorithm] = {
    1: KeyAlgorithm.TDES,
    2: KeyAlgorithm.AES_128,
    3: KeyAlgorithm.AES_192,
    4: KeyAlgorithm.AES_256,
}
"""Cipher arc → secure messaging algorithm."""


class _Phase(enum.Enum):
    IDLE = "idle"
    SELECTED = "selected"
    NONCE_SENT = "nonce sent"
    MAPPED = "mapped"
    KEYS_AGREED = "keys agreed"


class _RefusedError(Exception):
    """Abort the run and answer ``sw``."""

    def __init__(self, sw: Sw) -> None:
        super().__init__(sw.name)
        self.sw = sw


@dataclass(frozen=True, slots=True)
class Offer:
    """One PACEInfo of the chip: protocol OID and standardized domain parameter ID."""

    oid: str
    parameter_id: int
    ec: bool = field(init=False)
    mapping: Mapping = field(init=False)
    algorithm: KeyAlgorithm = field(init=False)

    def __post_init__(self) -> None:
        arcs = tuple(int(arc) for arc in self.oid.split("."))
        if arcs[: len(ID_PACE_ARCS)] != ID_PACE_ARCS or len(arcs) != len(ID_PACE_ARCS) + 2:
            raise ValueError(f"{self.oid} is not a PACE protocol")
        if arcs[-2] not in FAMILIES or arcs[-1] not in CIPHERS:
            raise ValueError(f"{self.oid} is not a PACE protocol")
        ec, mapping = FAMILIES[arcs[-2]]
        algorithm = CIPHERS[arcs[-1]]
        if mapping is Mapping.CHIP_AUTHENTICATION and algorithm is KeyAlgorithm.TDES:
            raise ValueError("PACE-CAM has no 3DES variant")
        params = standardized_domain_parameters(self.parameter_id)
        if isinstance(params, Curve) != ec:
            raise ValueError(f"{self.oid} does not fit domain parameters {self.parameter_id}")
        if isinstance(params, Curve) and mapping is Mapping.INTEGRATED and params.p % 4 != 3:
            raise ValueError(f"the Integrated Mapping is not defined on {params.name}")
        object.__setattr__(self, "ec", ec)
        object.__setattr__(self, "mapping", mapping)
        object.__setattr__(self, "algorithm", algorithm)


class ChipPace:
    """The chip side of PACE: raw APDU in, raw response out (or :meth:`respond`)."""

    def __init__(
        self,
        offers: Sequence[Offer],
        *,
        mrz_information: str | None = None,
        can: str | None = None,
        chip_authentication_key: int | None = None,
        rng: RandomSource = secrets,
    ) -> None:
        if not offers:
            raise ValueError("a PACE chip offers at least one protocol")
        if chip_authentication_key is None and any(
            offer.mapping is Mapping.CHIP_AUTHENTICATION for offer in offers
        ):
            raise ValueError("PACE-CAM needs the chip's static private key")
        self.offers = tuple(offers)
        self._passwords: dict[Password, bytes] = {}
        if mrz_information is not None:
            self._passwords[Password.MRZ] = hashlib.sha1(mrz_information.encode("ascii")).digest()
        if can is not None:
            self._passwords[Password.CAN] = can.encode("latin-1")
        self._static_key = chip_authentication_key
        self._rng = rng
        self.reset()

    def reset(self) -> None:
        """Forget the session and any run in progress (power cycle, new MSE:Set AT, error)."""
        self.session_keys: SessionKeys | None = None
        self._phase = _Phase.IDLE
        self._offer: Offer | None = None
        self._password_key = b""
        self._nonce = b""
        self._group: PaceGroup | None = None
        self._mapping_key: int | None = None
        self._own_public = b""
        self._terminal_public = b""
        self._session: SessionKeys | None = None

    # -- entry points ----------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """Answer one raw command APDU with raw response bytes."""
        try:
            command = CommandApdu.decode(apdu)
        except ParseError:
            return ResponseApdu(b"", Sw.WRONG_DATA).encode()
        data, sw, _ = self.respond(command)
        return ResponseApdu(data, sw).encode()

    def respond(self, command: CommandApdu) -> tuple[bytes, int, SessionKeys | None]:
        """Answer MSE:Set AT or GENERAL AUTHENTICATE; the keys come with the last answer."""
        try:
            if command.ins == Ins.MSE:
                self._set_at(command)
                return b"", Sw.OK, None
            if command.ins == Ins.GENERAL_AUTHENTICATE:
                last = self._phase is _Phase.KEYS_AGREED
                data = self._general_authenticate(command)
                return data, Sw.OK, self.session_keys if last else None
        except _RefusedError as refusal:
            self.reset()
            return b"", refusal.sw, None
        except (ParseError, ValueError):
            self.reset()
            return b"", Sw.WRONG_DATA, None
        return b"", Sw.INS_NOT_SUPPORTED, None

    # -- MSE:Set AT (§4.4.4.1) ---------------------------------------------------------

    def _set_at(self, command: CommandApdu) -> None:
        if (command.p1, command.p2) != MSE_SET_AT:
            raise _RefusedError(Sw.WRONG_P1P2)
        self.reset()
        objects = {item.tag: item.value for item in tlv.decode_all(command.data)}
        if MseTag.MECHANISM not in objects or MseTag.PASSWORD not in objects:
            raise _RefusedError(Sw.WRONG_DATA)
        oid = tlv.decode_oid(objects[MseTag.MECHANISM])
        candidates = [offer for offer in self.offers if offer.oid == oid]
        if MseTag.PARAMETER_ID in objects:
            wanted = tlv.decode_uint(objects[MseTag.PARAMETER_ID])
            candidates = [offer for offer in candidates if offer.parameter_id == wanted]
        if len(candidates) != 1:
            raise _RefusedError(Sw.WRONG_DATA if not candidates else Sw.REFERENCED_DATA_NOT_FOUND)
        password = tlv.decode_uint(objects[MseTag.PASSWORD])
        if password not in self._passwords:
            raise _RefusedError(Sw.REFERENCED_DATA_NOT_FOUND)
        offer = candidates[0]
        self._offer = offer
        self._password_key = derive_key(
            self._passwords[Password(password)], KdfCounter.PACE_PASSWORD, offer.algorithm
        )
        self._group = pace_group(standardized_domain_parameters(offer.parameter_id))
        self._phase = _Phase.SELECTED

    # -- GENERAL AUTHENTICATE (§4.4.4.2, table 4) -------------------------------------------

    def _general_authenticate(self, command: CommandApdu) -> bytes:
        if self._phase is _Phase.IDLE or self._offer is None or self._group is None:
            raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
        last = self._phase is _Phase.KEYS_AGREED
        if bool(command.cla & CHAINING) == last:
            raise _RefusedError(Sw.WRONG_DATA)
        request = tlv.decode_single(command.data)
        if request.tag != Tag.DYNAMIC_AUTHENTICATION_DATA:
            raise _RefusedError(Sw.WRONG_DATA)
        objects = {item.tag: item.value for item in request.children()}
        step = {
            _Phase.SELECTED: self._send_nonce,
            _Phase.NONCE_SENT: self._map_nonce,
            _Phase.MAPPED: self._agree_key,
            _Phase.KEYS_AGREED: self._authenticate,
        }[self._phase]
        answer = step(self._offer, self._group, objects)
        return tlv.encode(Tag.DYNAMIC_AUTHENTICATION_DATA, answer)

    def _send_nonce(self, offer: Offer, group: PaceGroup, objects: dict[int, bytes]) -> bytes:
        if objects:
            raise _RefusedError(Sw.WRONG_DATA)
        self._nonce = self._rng.token_bytes(nonce_length(offer.algorithm))
        encrypted = encrypt_cbc(offer.algorithm.cipher, self._password_key, self._nonce)
        self._phase = _Phase.NONCE_SENT
        return tlv.encode(Tag.ENCRYPTED_NONCE, encrypted)

    def _map_nonce(self, offer: Offer, group: PaceGroup, objects: dict[int, bytes]) -> bytes:
        terminal_data = _required(objects, Tag.MAPPING_IN)
        if offer.mapping is Mapping.INTEGRATED:
            if len(terminal_data) != offer.algorithm.key_length:
                raise _RefusedError(Sw.WRONG_DATA)
            self._group = group.integrated_mapping(self._nonce, terminal_data, offer.algorithm)
            own = b""
        else:
            self._mapping_key = group.generate_private_key(self._rng)
            own = group.public_key(self._mapping_key)
            if own == terminal_data:
                raise _RefusedError(Sw.WRONG_DATA)
            self._group = group.generic_mapping(self._nonce, self._mapping_key, terminal_data)
        self._phase = _Phase.MAPPED
        return tlv.encode(Tag.MAPPING_OUT, own)

    def _agree_key(self, offer: Offer, group: PaceGroup, objects: dict[int, bytes]) -> bytes:
        terminal_key = _required(objects, Tag.KEY_IN)
        private_key = group.generate_private_key(self._rng)
        self._own_public = group.public_key(private_key)
        if terminal_key == self._own_public:
            raise _RefusedError(Sw.WRONG_DATA)
        shared = group.shared_secret(private_key, terminal_key)
        self._session = (
            offer.algorithm,
            derive_key(shared, KdfCounter.ENC, offer.algorithm),
            derive_key(shared, KdfCounter.MAC, offer.algorithm),
        )
        self._terminal_public = terminal_key
        self._phase = _Phase.KEYS_AGREED
        return tlv.encode(Tag.KEY_OUT, self._own_public)

    def _authenticate(self, offer: Offer, group: PaceGroup, objects: dict[int, bytes]) -> bytes:
        if self._session is None:
            raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
        algorithm, ks_enc, ks_mac = self._session
        tag = group.public_key_tag
        expected = authentication_token(algorithm, ks_mac, offer.oid, tag, self._own_public)
        if not tokens_equal(expected, _required(objects, Tag.TOKEN_IN)):
            raise _RefusedError(Sw.AUTHENTICATION_FAILED)
        answer = tlv.encode(
            Tag.TOKEN_OUT,
            authentication_token(algorithm, ks_mac, offer.oid, tag, self._terminal_public),
        )
        if offer.mapping is Mapping.CHIP_AUTHENTICATION:
            answer += tlv.encode(Tag.CHIP_AUTHENTICATION_DATA, self._chip_authentication(ks_enc))
        session = self._session
        self.reset()
        self.session_keys = session
        return answer

    def _chip_authentication(self, ks_enc: bytes) -> bytes:
        """``A_IC = E(KS_Enc, SK_IC⁻¹ · SK_Map,IC mod n)`` (§4.4.3.5.1)."""
        if self._offer is None or self._static_key is None or self._mapping_key is None:
            raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
        curve = standardized_domain_parameters(self._offer.parameter_id)
        if not isinstance(curve, Curve):
            raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
        data = chip_authentication_data(curve, self._static_key, self._mapping_key)
        return encrypt_chip_authentication_data(ks_enc, data)


def _required(objects: dict[int, bytes], tag: Tag) -> bytes:
    if tag not in objects:
        raise _RefusedError(Sw.WRONG_DATA)
    return objects[tag]
