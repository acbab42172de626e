"""The chip's half of Chip Authentication: an independent state machine (ICAO 9303-11 §6.2).

The chip holds its static key pair and the one protocol it announces in DG14. It answers
MSE:Set KAT (3DES) or MSE:Set AT followed by GENERAL AUTHENTICATE (AES), computes the
shared secret with the terminal's ephemeral key and hands the card model the new session
keys, which apply from the next command on (SSC 0). The arithmetic comes from cardreader's
spec-pinned primitives (groups, KDF); the command parsing, the reading of the OID and the
loading of the key (PKCS #8 through asn1crypto) are this module's own.

``Fault.WRONG_KEY`` makes a clone: it announces the same public key but computes with
another private key, as a copy of the data without the chip's secret would.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field

from asn1crypto import keys as asn1_keys

from cardreader.crypto.domain_params import DomainParameters
from cardreader.crypto.ec import Curve, Point
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.crypto.pace_mapping import PaceGroup, RandomSource, pace_group
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu, Ins

SessionKeys = tuple[KeyAlgorithm, bytes, bytes]
"""``(algorithm, KS_enc, KS_mac)`` once Chip Authentication is done."""

ID_CA_ARCS = (0, 4, 0, 127, 0, 7, 2, 2, 3)
"""id-CA (ICAO 9303-11 §9.2); a protocol OID adds a key agreement and a cipher arc."""

KEY_AGREEMENTS = {1: "DH", 2: "ECDH"}
"""Key agreement arc after id-CA."""

CIPHERS: dict[int, KeyAlgorithm] = {
    1: KeyAlgorithm.TDES,
    2: KeyAlgorithm.AES_128,
    3: KeyAlgorithm.AES_192,
    4: KeyAlgorithm.AES_256,
}
"""Cipher arc → the secure messaging algorithm after Chip Authentication."""

MSE_SET_KAT = (0x41, 0xA6)
MSE_SET_AT = (0x41, 0xA4)
"""P1-P2 of the two MSE variants of Chip Authentication (§6.2.4)."""


class Sw(enum.IntEnum):
    """Status words of the Chip Authentication commands."""

    OK = 0x9000
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1P2 = 0x6B00


class Tag(enum.IntEnum):
    """Data objects the chip reads (§6.2.4)."""

    MECHANISM = 0x80
    KEY_REFERENCE = 0x84
    KAT_PUBLIC_KEY = 0x91
    DYNAMIC_AUTHENTICATION_DATA = 0x7C


GA_PUBLIC_KEY = 0x80
"""The ephemeral public key inside 7C of GENERAL AUTHENTICATE."""


class Fault(enum.Enum):
    """How this chip misbehaves, to show that the reader notices."""

    NONE = "none"
    WRONG_KEY = "wrong key"
    """A clone: the DG14 public key, but another private key."""


@dataclass(frozen=True)
class ChipAuthenticationKey:
    """The chip's static key pair ``(SK_IC, PK_IC)`` on its domain parameters."""

    params: DomainParameters = field(repr=False)
    private_key: int = field(repr=False)

    @classmethod
    def generate(
        cls, params: DomainParameters, rng: RandomSource = secrets
    ) -> ChipAuthenticationKey:
        return cls(params, pace_group(params).generate_private_key(rng))

    @classmethod
    def from_pkcs8(cls, der: bytes) -> ChipAuthenticationKey:
        """An EC key with explicit prime-curve parameters from PKCS #8 (RFC 5208, SEC 1)."""
        info = asn1_keys.PrivateKeyInfo.load(der)
        if info["private_key_algorithm"]["algorithm"].native != "ec":
            raise ValueError("only EC Chip Authentication keys load from PKCS #8 here")
        domain = info["private_key_algorithm"]["parameters"]
        if domain.name != "specified":
            raise ValueError("the key needs explicit curve parameters")
        spec = domain.chosen
        p = spec["field_id"]["parameters"].native
        size = (p.bit_length() + 7) // 8
        base = spec["base"].native
        curve = Curve(
            name="explicit",
            p=p,
            a=int.from_bytes(spec["curve"]["a"].native, "big"),
            b=int.from_bytes(spec["curve"]["b"].native, "big"),
            g=Point(
                int.from_bytes(base[1 : 1 + size], "big"), int.from_bytes(base[1 + size :], "big")
            ),
            n=spec["order"].native,
            h=spec["cofactor"].native or 1,
        )
        return cls(curve, info["private_key"].parsed["private_key"].native)

    @property
    def group(self) -> PaceGroup:
        return pace_group(self.params)

    def public_key(self) -> bytes:
        """The encoded ``PK_IC``: an uncompressed point or the DH public value."""
        return self.group.public_key(self.private_key)


class _RefusedError(Exception):
    def __init__(self, sw: Sw) -> None:
        super().__init__(sw.name)
        self.sw = sw


def _protocol(oid: str) -> KeyAlgorithm:
    arcs = tuple(int(arc) for arc in oid.split("."))
    if (
        arcs[: len(ID_CA_ARCS)] != ID_CA_ARCS
        or len(arcs) != len(ID_CA_ARCS) + 2
        or arcs[-2] not in KEY_AGREEMENTS
        or arcs[-1] not in CIPHERS
    ):
        raise ValueError(f"{oid} is not a Chip Authentication protocol")
    return CIPHERS[arcs[-1]]


class ChipAuthentication:
    """The chip side of Chip Authentication for one protocol OID and one key."""

    def __init__(
        self,
        key: ChipAuthenticationKey,
        protocol_oid: str,
        *,
        key_id: int | None = None,
        fault: Fault = Fault.NONE,
        rng: RandomSource = secrets,
    ) -> None:
        self.algorithm = _protocol(protocol_oid)
        self.protocol_oid = protocol_oid
        self.key = key
        self.key_id = key_id
        self.fault = fault
        self._private_key = (
            key.group.generate_private_key(rng) if fault is Fault.WRONG_KEY else key.private_key
        )
        self.reset()

    def reset(self) -> None:
        """Forget a Set AT waiting for its GENERAL AUTHENTICATE."""
        self._selected = False

    def respond(self, command: CommandApdu) -> tuple[bytes, int, SessionKeys | None]:
        """Answer MSE:Set KAT, MSE:Set AT or GENERAL AUTHENTICATE; keys come with the last."""
        try:
            if command.ins == Ins.MSE:
                return self._mse(command)
            if command.ins == Ins.GENERAL_AUTHENTICATE:
                return self._general_authenticate(command)
        except _RefusedError as refusal:
            self.reset()
            return b"", refusal.sw, None
        except (ParseError, ValueError):
            self.reset()
            return b"", Sw.WRONG_DATA, None
        return b"", Sw.CONDITIONS_NOT_SATISFIED, None

    def _objects(self, data: bytes) -> dict[int, bytes]:
        objects = {item.tag: item.value for item in tlv.decode_all(data, max_elements=4)}
        reference = objects.get(Tag.KEY_REFERENCE)
        if reference is not None and (
            self.key_id is None or tlv.decode_uint(reference, 4) != self.key_id
        ):
            raise _RefusedError(Sw.REFERENCED_DATA_NOT_FOUND)
        return objects

    def _mse(self, command: CommandApdu) -> tuple[bytes, int, SessionKeys | None]:
        self.reset()
        objects = self._objects(command.data)
        if (command.p1, command.p2) == MSE_SET_KAT:
            if self.algorithm is not KeyAlgorithm.TDES or Tag.KAT_PUBLIC_KEY not in objects:
                raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
            return b"", Sw.OK, self._agree(objects[Tag.KAT_PUBLIC_KEY])
        if (command.p1, command.p2) == MSE_SET_AT:
            mechanism = objects.get(Tag.MECHANISM)
            if mechanism is None or tlv.decode_oid(mechanism) != self.protocol_oid:
                raise _RefusedError(Sw.REFERENCED_DATA_NOT_FOUND)
            self._selected = True
            return b"", Sw.OK, None
        raise _RefusedError(Sw.WRONG_P1P2)

    def _general_authenticate(self, command: CommandApdu) -> tuple[bytes, int, SessionKeys | None]:
        if not self._selected:
            raise _RefusedError(Sw.CONDITIONS_NOT_SATISFIED)
        self.reset()
        data = tlv.decode_single(command.data)
        if data.tag != Tag.DYNAMIC_AUTHENTICATION_DATA:
            raise _RefusedError(Sw.WRONG_DATA)
        keys = self._agree(data.require(GA_PUBLIC_KEY).value)
        return tlv.encode(Tag.DYNAMIC_AUTHENTICATION_DATA, b""), Sw.OK, keys

    def _agree(self, terminal_public_key: bytes) -> SessionKeys:
        """``K = KA(SK_IC, PK_PCD)`` and the session keys of the CA cipher (§9.7.1)."""
        shared = self.key.group.shared_secret(self._private_key, terminal_public_key)
        alg = self.algorithm
        return alg, derive_key(shared, KdfCounter.ENC, alg), derive_key(shared, KdfCounter.MAC, alg)
