"""The cryptography of PACE shared by terminal and chip (ICAO 9303-11 §4.4.3, Appendix B).

- :class:`PaceGroup`: the key-agreement group (ECDH or DH, §9.6) with the mappings of the
  nonce to an ephemeral generator: Generic Mapping (§4.4.3.3.1, also used by the Chip
  Authentication Mapping, §4.4.3.3.3) and Integrated Mapping (§4.4.3.3.2) with the
  pseudo-random function ``R(s,t)`` and the point encoding ``f_G`` of Appendix B;
- the authentication token over the public key data object 7F49 (§4.4.3.4, §9.4);
- the Chip Authentication Mapping's encrypted chip authentication data (§4.4.3.5).

Protocol flow (who sends what when) is not here: see :mod:`cardreader.access.pace`.
"""

from __future__ import annotations

import abc
import enum
import hmac
from dataclasses import dataclass
from typing import Protocol

from cardreader.asn1 import UniversalTag
from cardreader.crypto.cipher import (
    BlockCipher,
    aes_cmac,
    decrypt_cbc,
    encrypt_block,
    encrypt_cbc,
    pad,
    retail_mac,
    unpad,
)
from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import DomainParameters
from cardreader.crypto.ec import Curve, Point
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv


class PublicKeyTag(enum.IntEnum):
    """Tags of a public key data object (ICAO 9303-11 §9.4, tables 10 and 11)."""

    TEMPLATE = 0x7F49
    OBJECT_IDENTIFIER = UniversalTag.OBJECT_IDENTIFIER
    DH_PUBLIC_VALUE = 0x84
    EC_PUBLIC_POINT = 0x86


_PRF_EXTRA_BITS = 64
"""``R(s,t)`` yields at least ``log2 p + 64`` bits so that ``mod p`` is near uniform."""

_PRF_CONSTANTS: dict[int, tuple[bytes, bytes]] = {
    128: (
        bytes.fromhex("a668892a7c41e3ca739f40b057d85904"),
        bytes.fromhex("a4e136ac725f738b01c1f60217c188ad"),
    ),
    256: (
        bytes.fromhex("d463d65234124ef7897054986dca0a174e28df758cbaa03f240616414d5a1676"),
        bytes.fromhex("54bd7255f0aaf831bec3423fcf39d69b6cbf066677d0faae5aadd99df8e53517"),
    ),
}
"""The constants ``(c0, c1)`` of ``R(s,t)`` by nonce length ``l`` in bits (§4.4.3.3.2)."""

_CAM_IV_INPUT = b"\xff" * BlockCipher.AES.block_size
"""The block ``-1`` (all bits set) whose encryption is the CAM IV (§4.4.3.5.4)."""


class RandomSource(Protocol):
    """Where nonces and ephemeral keys come from; the :mod:`secrets` module satisfies it."""

    def token_bytes(self, nbytes: int) -> bytes: ...

    def randbelow(self, exclusive_upper_bound: int) -> int: ...


def nonce_length(alg: KeyAlgorithm) -> int:
    """Octet length ``l/8`` of the nonce ``s``: the key size rounded up to whole blocks.

    ICAO 9303-11 §4.4.3.3 (3DES counts as a 128-bit key); the same length is used for
    every mapping.
    """
    block = alg.cipher.block_size
    return -(-alg.key_length // block) * block


def pseudo_random_function(s: bytes, t: bytes, alg: KeyAlgorithm, modulus: int) -> bytes:
    """``R(s,t)`` of the Integrated Mapping (ICAO 9303-11 §4.4.3.3.2, figure 2).

    Block cipher ``E`` in CBC mode with a zero IV; each round key is truncated to the key
    size, and ``n`` blocks of ``l`` bits are produced with ``n·l ≥ log2 p + 64``.
    """
    length_bits = len(s) * 8
    try:
        c0, c1 = _PRF_CONSTANTS[length_bits]
    except KeyError:
        raise ValueError(f"the nonce s must have 128 or 256 bits, not {length_bits}") from None
    blocks = 1
    while 1 << (blocks * length_bits - _PRF_EXTRA_BITS) < modulus:
        blocks += 1
    key = encrypt_cbc(alg.cipher, t, s)[: alg.key_length]
    output = bytearray()
    for _ in range(blocks):
        output += encrypt_cbc(alg.cipher, key, c1)
        key = encrypt_cbc(alg.cipher, key, c0)[: alg.key_length]
    return bytes(output)


def ec_point_encoding(curve: Curve, t: int) -> Point:
    """``f_G(t)``: a field element to a curve point (ICAO 9303-11 Appendix B, [BCIMRT2010]).

    Defined for ``p ≡ 3 (mod 4)`` and ``t ∉ {0, ±1}`` (where ``α + α²`` has no inverse;
    ``R_p(s,t)`` hits them with negligible probability); the result is multiplied by the
    cofactor.
    """
    p, a, b = curve.p, curve.a, curve.b
    if p % 4 != 3:
        raise UnsupportedProtocolError(
            f"the Integrated Mapping needs p ≡ 3 mod 4, which {curve.name} does not have"
        )
    alpha = -(t * t) % p
    if alpha * (1 + alpha) % p == 0:
        raise ValueError("f_G is not defined for t = 0 or t = ±1")
    x2 = -b * (1 + alpha + alpha * alpha) * pow(a * (alpha + alpha * alpha), p - 2, p) % p
    x3 = alpha * x2 % p
    h2 = (pow(x2, 3, p) + a * x2 + b) % p
    u = pow(t, 3, p) * h2 % p
    a_exp = pow(h2, p - 1 - (p + 1) // 4, p)
    on_x2 = a_exp * a_exp * h2 % p == 1
    point = Point(x2, a_exp * h2 % p) if on_x2 else Point(x3, a_exp * u % p)
    if not curve.contains(point):
        raise ValueError("point encoding left the curve")
    mapped = curve.multiply(curve.h, point)
    if mapped is None:
        raise ValueError("point encoding yielded the point at infinity")
    return mapped


class PaceGroup(abc.ABC):
    """The key-agreement group of one PACE run, with its nonce mappings (§4.4.3.3, §9.6).

    Public keys and peer keys are handled in their wire encoding (§9.4.5): an uncompressed
    point for ECDH, an unsigned integer for DH. Invalid peer keys raise :class:`ParseError`.
    """

    @property
    @abc.abstractmethod
    def order(self) -> int:
        """Order of the generator; private keys lie in [1, order)."""

    @property
    @abc.abstractmethod
    def modulus(self) -> int:
        """The prime ``p`` of the underlying field."""

    @property
    @abc.abstractmethod
    def public_key_tag(self) -> PublicKeyTag:
        """Tag of the public key inside a public key data object (§9.4)."""

    @property
    @abc.abstractmethod
    def public_key_size(self) -> int:
        """The largest encoded public key in octets (to choose short or extended APDUs)."""

    @abc.abstractmethod
    def public_key(self, private_key: int) -> bytes:
        """The encoded public key of ``private_key`` over the current generator."""

    @abc.abstractmethod
    def shared_secret(self, private_key: int, peer_public_key: bytes) -> bytes:
        """``K = KA(SK, PK)``: the x-coordinate (ECKA) or ``y^x mod p`` as octets (§9.6)."""

    @abc.abstractmethod
    def generic_mapping(self, nonce: bytes, private_key: int, peer_public_key: bytes) -> PaceGroup:
        """The group with generator ``s·G + H`` / ``g^s·h`` (§4.4.3.3.1)."""

    @abc.abstractmethod
    def map_field_element(self, value: int) -> PaceGroup:
        """The group with generator ``f_G(value)`` / ``value^((p-1)/q)`` (§4.4.3.3.2)."""

    def generate_private_key(self, rng: RandomSource) -> int:
        """A uniformly random private key in [1, order)."""
        return 1 + rng.randbelow(self.order - 1)

    def integrated_mapping(
        self, nonce: bytes, terminal_nonce: bytes, alg: KeyAlgorithm
    ) -> PaceGroup:
        """The group with generator ``f(R_p(s, t))`` (ICAO 9303-11 §4.4.3.3.2)."""
        prf = pseudo_random_function(nonce, terminal_nonce, alg, self.modulus)
        return self.map_field_element(int.from_bytes(prf, "big") % self.modulus)


@dataclass(frozen=True, slots=True)
class EcPaceGroup(PaceGroup):
    """ECDH over a prime curve (ICAO 9303-11 §4.4.3.2, ECKA of BSI TR-03111 §4.3.1)."""

    curve: Curve

    @property
    def order(self) -> int:
        return self.curve.n

    @property
    def modulus(self) -> int:
        return self.curve.p

    @property
    def public_key_tag(self) -> PublicKeyTag:
        return PublicKeyTag.EC_PUBLIC_POINT

    @property
    def public_key_size(self) -> int:
        return 1 + 2 * self.curve.field_bytes

    def public_key(self, private_key: int) -> bytes:
        return self.curve.encode_point(_finite(self.curve.multiply(private_key, self.curve.g)))

    def shared_secret(self, private_key: int, peer_public_key: bytes) -> bytes:
        shared = self._agree(private_key, peer_public_key)
        return self.curve.encode_field_element(shared.x)

    def generic_mapping(self, nonce: bytes, private_key: int, peer_public_key: bytes) -> PaceGroup:
        h = self._agree(private_key, peer_public_key)
        generator = self.curve.add(
            self.curve.multiply(int.from_bytes(nonce, "big"), self.curve.g), h
        )
        if generator is None:
            raise ParseError("the mapped generator is the point at infinity")
        return EcPaceGroup(self.curve.with_generator(generator))

    def map_field_element(self, value: int) -> PaceGroup:
        return EcPaceGroup(self.curve.with_generator(ec_point_encoding(self.curve, value)))

    def _agree(self, private_key: int, peer_public_key: bytes) -> Point:
        """ECKA with cofactor multiplication (BSI TR-03111 §4.3.1)."""
        peer = self.curve.decode_point(peer_public_key)
        return _finite(self.curve.multiply(self.curve.h * private_key, peer))


def _finite(point: Point | None) -> Point:
    if point is None:
        raise ParseError("key agreement yielded the point at infinity")
    return point


@dataclass(frozen=True, slots=True)
class DhPaceGroup(PaceGroup):
    """Modular DH (ICAO 9303-11 §4.4.3.1, PKCS #3 with RFC 2631 key validation)."""

    group: DhGroup

    @property
    def order(self) -> int:
        return self.group.q

    @property
    def modulus(self) -> int:
        return self.group.p

    @property
    def public_key_tag(self) -> PublicKeyTag:
        return PublicKeyTag.DH_PUBLIC_VALUE

    @property
    def public_key_size(self) -> int:
        return self.group.element_bytes

    def public_key(self, private_key: int) -> bytes:
        return self.group.encode_public(self.group.power(self.group.g, private_key))

    def shared_secret(self, private_key: int, peer_public_key: bytes) -> bytes:
        shared = self.group.power(self.group.decode_public(peer_public_key), private_key)
        return self.group.encode_shared_secret(shared)

    def generic_mapping(self, nonce: bytes, private_key: int, peer_public_key: bytes) -> PaceGroup:
        h = self.group.power(self.group.decode_public(peer_public_key), private_key)
        generator = self.group.power(self.group.g, int.from_bytes(nonce, "big")) * h % self.group.p
        return self._with_generator(generator)

    def map_field_element(self, value: int) -> PaceGroup:
        cofactor = (self.group.p - 1) // self.group.q
        return self._with_generator(self.group.power(value, cofactor))

    def _with_generator(self, generator: int) -> PaceGroup:
        if not self.group.is_valid_element(generator):
            raise ParseError("the mapped generator is not an element of order q")
        return DhPaceGroup(self.group.with_generator(generator))


def pace_group(params: DomainParameters) -> PaceGroup:
    """The PACE group over static domain parameters ``D_IC``."""
    if isinstance(params, Curve):
        return EcPaceGroup(params)
    return DhPaceGroup(params)


def public_key_data_object(oid: str, tag: PublicKeyTag, public_key: bytes) -> bytes:
    """``7F49 { 06 OID, 84|86 key }`` without domain parameters (§4.4.3.4, §9.4.5)."""
    body = tlv.encode(PublicKeyTag.OBJECT_IDENTIFIER, tlv.encode_oid(oid)) + tlv.encode(
        tag, public_key
    )
    return tlv.encode(PublicKeyTag.TEMPLATE, body)


def authentication_token(
    alg: KeyAlgorithm, ks_mac: bytes, oid: str, tag: PublicKeyTag, public_key: bytes
) -> bytes:
    """``T = MAC(KS_MAC, PK)`` over the peer's public key data object (§4.4.3.4).

    3DES: retail MAC with padding method 2; AES: CMAC truncated to 8 octets, which pads
    internally (no application padding).
    """
    data = public_key_data_object(oid, tag, public_key)
    if alg.cipher is BlockCipher.TDES:
        return retail_mac(ks_mac, data)
    return aes_cmac(ks_mac, data)


def tokens_equal(expected: bytes, received: bytes) -> bool:
    """Compare authentication tokens in constant time."""
    return hmac.compare_digest(expected, received)


def _cam_iv(ks_enc: bytes) -> bytes:
    return encrypt_block(BlockCipher.AES, ks_enc, _CAM_IV_INPUT)


def chip_authentication_data(
    curve: Curve, static_private_key: int, mapping_private_key: int
) -> bytes:
    """``CA_IC = SK_IC⁻¹ · SK_Map,IC mod n`` as FE2OS over the order's length (§4.4.3.5.1)."""
    value = pow(static_private_key, -1, curve.n) * mapping_private_key % curve.n
    return value.to_bytes((curve.n.bit_length() + 7) // 8, "big")


def encrypt_chip_authentication_data(ks_enc: bytes, data: bytes) -> bytes:
    """``A_IC = E(KS_Enc, CA_IC)``: AES-CBC, IV ``E(KS_Enc, -1)``, padding method 2 (§4.4.3.5)."""
    return encrypt_cbc(
        BlockCipher.AES, ks_enc, pad(data, BlockCipher.AES.block_size), _cam_iv(ks_enc)
    )


def decrypt_chip_authentication_data(ks_enc: bytes, encrypted: bytes) -> bytes:
    """Recover ``CA_IC`` from ``A_IC`` (§4.4.3.5); :class:`ParseError` if malformed."""
    return unpad(decrypt_cbc(BlockCipher.AES, ks_enc, encrypted, _cam_iv(ks_enc)))


def verify_chip_authentication_data(
    curve: Curve, data: bytes, static_public_key: bytes, mapping_public_key: bytes
) -> bool:
    """Check ``PK_Map,IC = KA(CA_IC, PK_IC, D_IC)`` (ICAO 9303-11 §4.4.3.5.2).

    ``curve`` carries the static domain parameters; keys are uncompressed points.
    """
    value = int.from_bytes(data, "big")
    if not 0 < value < curve.n:
        return False
    try:
        static = curve.decode_point(static_public_key)
        expected = curve.decode_point(mapping_public_key)
    except ParseError:
        return False
    return curve.multiply(value, static) == expected
