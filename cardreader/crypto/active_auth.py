"""Active Authentication signatures and the public keys that DG14 and DG15 carry.

- ``SubjectPublicKeyInfo`` (RFC 5280 §4.1.2.7), parsed with the bounded TLV code: RSA
  (RFC 3279 §2.3.1), elliptic curves with named or explicit prime-curve parameters
  (RFC 3279 §2.3.5, BSI TR-03111 §5.1.1), X9.42 Diffie-Hellman (RFC 3279 §2.3.3) and the
  standardized domain parameters of BSI TR-03110-3 §A.2.1.1. Explicit curve parameters are
  accepted only when they describe one of the standardized curves (ICAO 9303-11 §9.5.1),
  as PACE does for its own domain parameters.
- DG15, ActiveAuthenticationPublicKeyInfo (ICAO 9303-10 §4.7.15).
- The Active Authentication signature over the terminal's challenge (ICAO 9303-11 §6.1):
  RSA with ISO/IEC 9796-2 digital signature scheme 1 (partial message recovery; trailer
  ``BC`` for SHA-1 or ``xx CC`` naming the hash by its ISO/IEC 10118-3 identifier), or
  ECDSA in the plain ``r || s`` form of BSI TR-03111 §5.2.1 or the DER form of X9.62.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import (
    STANDARDIZED_DOMAIN_PARAMETERS,
    DomainParameters,
    StandardizedDomainParameter,
    standardized_domain_parameters,
)
from cardreader.crypto.ec import Curve, Point
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv

MAX_FIELD_BYTES = 66
"""The largest prime field of a standardized curve (secp521r1)."""
MAX_MODULUS_BYTES = 512
"""RSA moduli and DH primes up to 4096 bits."""
MAX_SUBGROUP_BYTES = 64
"""DH subgroup orders up to 512 bits (the standardized groups use 160 to 256), which also
bounds the cost of validating a group and a key."""
MIN_DH_BITS, MIN_DH_SUBGROUP_BITS = 1024, 160
"""The weakest DH group accepted: that of RFC 5114 §2.1 (standardized parameter 0)."""
MIN_RSA_BITS = 1024
"""ICAO 9303-11 §6.1: Active Authentication keys have at least 1024 bits."""
DG15_TAG = 0x6F
"""Tag of DG15 (ICAO 9303-10 §4.7.15)."""


class Asn1Tag(enum.IntEnum):
    """Universal ASN.1 tags of public keys (ITU-T X.690)."""

    INTEGER = 0x02
    BIT_STRING = 0x03
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    SEQUENCE = 0x30


class KeyAlgorithmOid(enum.StrEnum):
    """Algorithm identifiers of a SubjectPublicKeyInfo."""

    RSA = "1.2.840.113549.1.1.1"
    """rsaEncryption (RFC 3279 §2.3.1)."""
    EC_PUBLIC_KEY = "1.2.840.10045.2.1"
    """id-ecPublicKey (RFC 3279 §2.3.5)."""
    DH = "1.2.840.10046.2.1"
    """dhpublicnumber, X9.42 (RFC 3279 §2.3.3)."""
    STANDARDIZED_DOMAIN_PARAMETERS = "0.4.0.127.0.7.1.2"
    """standardizedDomainParameters with an INTEGER id (BSI TR-03110-3 §A.2.1.1)."""


PRIME_FIELD = "1.2.840.10045.1.1"
"""prime-field, the only field type of explicit curve parameters accepted (X9.62)."""

_P = StandardizedDomainParameter
NAMED_CURVES: Mapping[str, StandardizedDomainParameter] = MappingProxyType(
    {
        "1.2.840.10045.3.1.1": _P.SECP192R1,
        "1.3.132.0.33": _P.SECP224R1,
        "1.2.840.10045.3.1.7": _P.SECP256R1,
        "1.3.132.0.34": _P.SECP384R1,
        "1.3.132.0.35": _P.SECP521R1,
        "1.3.36.3.3.2.8.1.1.3": _P.BRAINPOOL_P192R1,
        "1.3.36.3.3.2.8.1.1.5": _P.BRAINPOOL_P224R1,
        "1.3.36.3.3.2.8.1.1.7": _P.BRAINPOOL_P256R1,
        "1.3.36.3.3.2.8.1.1.9": _P.BRAINPOOL_P320R1,
        "1.3.36.3.3.2.8.1.1.11": _P.BRAINPOOL_P384R1,
        "1.3.36.3.3.2.8.1.1.13": _P.BRAINPOOL_P512R1,
    }
)
"""Named-curve OIDs (SEC 2 §A.2, RFC 5639 §4.1) of the standardized curves."""

_CRYPTOGRAPHY_CURVES: Mapping[StandardizedDomainParameter, type[ec.EllipticCurve]] = (
    MappingProxyType(
        {
            _P.SECP192R1: ec.SECP192R1,
            _P.SECP224R1: ec.SECP224R1,
            _P.SECP256R1: ec.SECP256R1,
            _P.SECP384R1: ec.SECP384R1,
            _P.SECP521R1: ec.SECP521R1,
            _P.BRAINPOOL_P256R1: ec.BrainpoolP256R1,
            _P.BRAINPOOL_P384R1: ec.BrainpoolP384R1,
            _P.BRAINPOOL_P512R1: ec.BrainpoolP512R1,
        }
    )
)
"""The curves on which ``cryptography`` verifies ECDSA."""


# -- DER helpers -------------------------------------------------------------------------


def der_unsigned(item: tlv.Tlv, max_bytes: int) -> int:
    """A non-negative DER INTEGER of at most ``max_bytes`` significant octets."""
    if item.tag != Asn1Tag.INTEGER:
        raise ParseError(f"expected an INTEGER, found tag {item.tag:X}")
    if not item.value:
        raise ParseError("empty INTEGER")
    if item.value[0] & 0x80:
        raise ParseError("negative INTEGER where an unsigned value is expected")
    return tlv.decode_uint(item.value.lstrip(b"\x00") or b"\x00", max_bytes)


def der_oid(item: tlv.Tlv) -> str:
    """The dotted form of a DER OBJECT IDENTIFIER."""
    if item.tag != Asn1Tag.OBJECT_IDENTIFIER:
        raise ParseError(f"expected an OBJECT IDENTIFIER, found tag {item.tag:X}")
    return tlv.decode_oid(item.value)


def _sequence(item: tlv.Tlv, what: str, sizes: range) -> list[tlv.Tlv]:
    if item.tag != Asn1Tag.SEQUENCE:
        raise ParseError(f"{what} must be a SEQUENCE, found tag {item.tag:X}")
    children = item.children()
    if len(children) not in sizes:
        raise ParseError(f"{what} has {len(children)} elements")
    return children


def _octets(item: tlv.Tlv, what: str) -> bytes:
    if item.tag != Asn1Tag.OCTET_STRING:
        raise ParseError(f"{what} must be an OCTET STRING, found tag {item.tag:X}")
    return item.value


def _bit_string(item: tlv.Tlv) -> bytes:
    if item.tag != Asn1Tag.BIT_STRING or not item.value:
        raise ParseError("the subject public key must be a BIT STRING")
    if item.value[0] != 0:
        raise ParseError("the subject public key is not a whole number of octets")
    return item.value[1:]


def decode_padded(data: bytes, tag: int, what: str) -> tlv.Tlv:
    """The one data object ``tag`` of a file; zero bytes after it (block padding) are ignored."""
    item, trailing = tlv.decode_one(data)
    if item.tag != tag:
        raise ParseError(f"{what} must start with tag {tag:X}, found {item.tag:X}")
    if trailing.strip(b"\x00"):
        raise ParseError(f"{len(trailing)} bytes after {what}")
    return item


# -- public keys ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RsaPublicKey:
    """An RSA public key ``(n, e)`` (RFC 3279 §2.3.1)."""

    modulus: int = field(repr=False)
    exponent: int

    @property
    def bits(self) -> int:
        return self.modulus.bit_length()


@dataclass(frozen=True, slots=True)
class EcPublicKey:
    """A point on one of the standardized curves (BSI TR-03111 §5.1.1)."""

    parameter: StandardizedDomainParameter
    point: Point = field(repr=False)

    @property
    def curve(self) -> Curve:
        params = STANDARDIZED_DOMAIN_PARAMETERS[self.parameter]
        assert isinstance(params, Curve)
        return params

    @property
    def domain_parameters(self) -> DomainParameters:
        return self.curve

    @property
    def encoded(self) -> bytes:
        """The uncompressed point ``04 || x || y``."""
        return self.curve.encode_point(self.point)


@dataclass(frozen=True, slots=True)
class DhPublicKey:
    """A public value ``y`` of a DH group (RFC 3279 §2.3.3); ``parameter`` if standardized."""

    group: DhGroup = field(repr=False)
    value: int = field(repr=False)
    parameter: StandardizedDomainParameter | None = None

    @property
    def domain_parameters(self) -> DomainParameters:
        return self.group

    @property
    def encoded(self) -> bytes:
        """The public value as an unsigned integer (ICAO 9303-11 §9.4.1)."""
        return self.group.encode_public(self.value)


PublicKey = RsaPublicKey | EcPublicKey | DhPublicKey
"""Any public key of DG14 or DG15."""


def _standard_curve(p: int, a: int, b: int, base: bytes, n: int, h: int | None) -> _P:
    for parameter, params in STANDARDIZED_DOMAIN_PARAMETERS.items():
        if (
            isinstance(params, Curve)
            and (params.p, params.a, params.b, params.n) == (p, a, b, n)
            and params.encode_point(params.g) == base
            and h in (None, params.h)
        ):
            return parameter
    raise UnsupportedProtocolError("explicit curve parameters that match no standardized curve")


def _explicit_curve(item: tlv.Tlv) -> _P:
    """SpecifiedECDomain (X9.62, BSI TR-03111 §5.1.1) matched to a standardized curve."""
    children = _sequence(item, "explicit curve parameters", range(5, 8))
    version, field_id, curve, base, order = children[:5]
    der_unsigned(version, 1)
    field_type, prime = _sequence(field_id, "FieldID", range(2, 3))
    if der_oid(field_type) != PRIME_FIELD:
        raise UnsupportedProtocolError("curves over fields other than prime fields")
    p = der_unsigned(prime, MAX_FIELD_BYTES)
    coefficients = _sequence(curve, "Curve", range(2, 4))
    a = int.from_bytes(_octets(coefficients[0], "the coefficient a"), "big")
    b = int.from_bytes(_octets(coefficients[1], "the coefficient b"), "big")
    n = der_unsigned(order, MAX_FIELD_BYTES + 1)
    h = der_unsigned(children[5], MAX_FIELD_BYTES) if len(children) > 5 else None
    return _standard_curve(p, a, b, _octets(base, "the base point"), n, h)


def _ec_parameters(item: tlv.Tlv) -> _P:
    """ECParameters: a named curve OID or explicit parameters (RFC 3279 §2.3.5)."""
    if item.tag == Asn1Tag.OBJECT_IDENTIFIER:
        oid = der_oid(item)
        if oid not in NAMED_CURVES:
            raise UnsupportedProtocolError(f"named curve {oid} is not a standardized curve")
        return NAMED_CURVES[oid]
    if item.tag == Asn1Tag.SEQUENCE:
        return _explicit_curve(item)
    raise UnsupportedProtocolError("implicitly-CA curve parameters")


def _dh_parameters(item: tlv.Tlv) -> tuple[DhGroup, _P | None]:
    """X9.42 DomainParameters ``{p, g, q, j, validationParms}`` (RFC 3279 §2.3.3)."""
    children = _sequence(item, "DH domain parameters", range(3, 6))
    p, g = (der_unsigned(child, MAX_MODULUS_BYTES) for child in children[:2])
    q = der_unsigned(children[2], MAX_SUBGROUP_BYTES)
    if p < 3 or not p & 1 or not 1 < g < p or not 1 < q < p or pow(g, q, p) != 1:
        raise ParseError("DH domain parameters where g does not generate a group of order q")
    if p.bit_length() < MIN_DH_BITS or q.bit_length() < MIN_DH_SUBGROUP_BITS:
        raise UnsupportedProtocolError(f"a DH group of {p.bit_length()}/{q.bit_length()} bits")
    for parameter, params in STANDARDIZED_DOMAIN_PARAMETERS.items():
        if isinstance(params, DhGroup) and (params.p, params.g, params.q) == (p, g, q):
            return params, parameter
    return DhGroup(f"{p.bit_length()}-bit DH group", p, g, q), None


def _rsa_key(key: bytes) -> RsaPublicKey:
    n_item, e_item = _sequence(tlv.decode_single(key), "RSAPublicKey", range(2, 3))
    n = der_unsigned(n_item, MAX_MODULUS_BYTES)
    e = der_unsigned(e_item, MAX_MODULUS_BYTES)
    if n.bit_length() < MIN_RSA_BITS or not n & 1 or not 3 <= e < n or not e & 1:
        raise ParseError("not a valid RSA public key of at least 1024 bits")
    return RsaPublicKey(n, e)


def _dh_key(group: DhGroup, parameter: _P | None, key: bytes) -> DhPublicKey:
    value = der_unsigned(tlv.decode_single(key), MAX_MODULUS_BYTES)
    if not group.is_valid_element(value):
        raise ParseError(f"the DH public value is not an element of order q in {group.name}")
    return DhPublicKey(group, value, parameter)


def _ec_key(parameter: _P, key: bytes) -> EcPublicKey:
    params = STANDARDIZED_DOMAIN_PARAMETERS[parameter]
    assert isinstance(params, Curve)
    return EcPublicKey(parameter, params.decode_point(key))


def parse_subject_public_key_info(der: bytes) -> PublicKey:
    """Parse a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) into a validated public key.

    :class:`ParseError` for malformed encodings and invalid keys (a point off the curve, a
    DH value outside the group); :class:`UnsupportedProtocolError` for algorithms and
    parameters this library does not handle.
    """
    algorithm, subject_key = _sequence(tlv.decode_single(der), "SubjectPublicKeyInfo", range(2, 3))
    identifier = _sequence(algorithm, "AlgorithmIdentifier", range(1, 3))
    dotted = der_oid(identifier[0])
    try:
        oid = KeyAlgorithmOid(dotted)
    except ValueError:
        raise UnsupportedProtocolError(f"public key algorithm {dotted}") from None
    parameters = identifier[1] if len(identifier) > 1 else None
    key = _bit_string(subject_key)
    if oid == KeyAlgorithmOid.RSA:
        if parameters is not None and parameters.tag != Asn1Tag.NULL:
            raise ParseError("rsaEncryption takes NULL parameters")
        return _rsa_key(key)
    if parameters is None:
        raise ParseError(f"public key algorithm {oid} without domain parameters")
    if oid == KeyAlgorithmOid.EC_PUBLIC_KEY:
        return _ec_key(_ec_parameters(parameters), key)
    if oid == KeyAlgorithmOid.DH:
        group, standard = _dh_parameters(parameters)
        return _dh_key(group, standard, key)
    parameter_id = der_unsigned(parameters, 1)  # standardizedDomainParameters
    params = standardized_domain_parameters(parameter_id)
    if isinstance(params, Curve):
        return _ec_key(_P(parameter_id), key)
    return _dh_key(params, _P(parameter_id), key)


# -- DG15 ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveAuthenticationPublicKeyInfo:
    """DG15: the chip's Active Authentication public key (ICAO 9303-10 §4.7.15)."""

    public_key: RsaPublicKey | EcPublicKey
    subject_public_key_info: bytes = field(repr=False)


def parse_dg15(data: bytes) -> ActiveAuthenticationPublicKeyInfo:
    """Parse DG15 (tag 6F around a SubjectPublicKeyInfo); RSA or EC keys only."""
    spki = decode_padded(data, DG15_TAG, "DG15").value
    key = parse_subject_public_key_info(spki)
    if isinstance(key, DhPublicKey):
        raise ParseError("DG15 holds a DH key, which cannot sign")
    return ActiveAuthenticationPublicKeyInfo(key, spki)


# -- signatures ----------------------------------------------------------------------------


class HashAlgorithm(enum.Enum):
    """Hash functions of Active Authentication with their ISO/IEC 10118-3 identifier."""

    SHA1 = ("SHA-1", "sha1", 0x33)
    SHA224 = ("SHA-224", "sha224", 0x38)
    SHA256 = ("SHA-256", "sha256", 0x34)
    SHA384 = ("SHA-384", "sha384", 0x36)
    SHA512 = ("SHA-512", "sha512", 0x35)

    @property
    def title(self) -> str:
        return self.value[0]

    @property
    def identifier(self) -> int:
        """The hash-function identifier of ISO/IEC 10118-3 used in 9796-2 trailers."""
        return self.value[2]

    @property
    def digest_size(self) -> int:
        return hashlib.new(self.value[1]).digest_size

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.value[1], data).digest()

    def for_cryptography(self) -> hashes.HashAlgorithm:
        hash_types: dict[HashAlgorithm, type[hashes.HashAlgorithm]] = {
            HashAlgorithm.SHA1: hashes.SHA1,
            HashAlgorithm.SHA224: hashes.SHA224,
            HashAlgorithm.SHA256: hashes.SHA256,
            HashAlgorithm.SHA384: hashes.SHA384,
            HashAlgorithm.SHA512: hashes.SHA512,
        }
        return hash_types[self]()


_H = HashAlgorithm
ECDSA_SIGNATURE_ALGORITHMS: Mapping[str, HashAlgorithm] = MappingProxyType(
    {
        "1.2.840.10045.4.1": _H.SHA1,  # ecdsa-with-SHA1 (X9.62)
        "1.2.840.10045.4.3.1": _H.SHA224,  # ecdsa-with-SHA224
        "1.2.840.10045.4.3.2": _H.SHA256,  # ecdsa-with-SHA256
        "1.2.840.10045.4.3.3": _H.SHA384,  # ecdsa-with-SHA384
        "1.2.840.10045.4.3.4": _H.SHA512,  # ecdsa-with-SHA512
        "0.4.0.127.0.7.1.1.4.1.1": _H.SHA1,  # ecdsa-plain-SHA1 (BSI TR-03111 §5.2.1)
        "0.4.0.127.0.7.1.1.4.1.2": _H.SHA224,  # ecdsa-plain-SHA224
        "0.4.0.127.0.7.1.1.4.1.3": _H.SHA256,  # ecdsa-plain-SHA256
        "0.4.0.127.0.7.1.1.4.1.4": _H.SHA384,  # ecdsa-plain-SHA384
        "0.4.0.127.0.7.1.1.4.1.5": _H.SHA512,  # ecdsa-plain-SHA512
    }
)
"""ECDSA signature algorithms an ActiveAuthenticationInfo may name, and their hash."""

ISO9796_IMPLICIT_SHA1 = 0xBC
"""Trailer of one octet: the hash is SHA-1 (ISO/IEC 9796-2 §8.1.2)."""
ISO9796_EXPLICIT = 0xCC
"""Last octet of a two-octet trailer ``hash-id || CC``."""
ISO9796_PARTIAL_RECOVERY = 0x6
"""First nibble of the representative: header ``01``, more-data bit 1, then padding."""
ISO9796_PADDING = 0xB
"""Second nibble when a padding field follows: nibbles B, ended by nibble A."""
ISO9796_NO_PADDING = 0xA
"""Second nibble when M1 follows at once (the nibble A that ends the padding field)."""
ISO9796_PADDING_BYTES = (0xBB, 0xBA)
"""The padding field after the first octet: octets BB, then the closing BA."""
ISO9796_REPRESENTATIVE_NIBBLE = 0xC
"""Every 9796-2 representative ends in nibble C; otherwise the signer's ``n - J`` is used."""

_HASH_BY_IDENTIFIER = {algorithm.identifier: algorithm for algorithm in HashAlgorithm}


@dataclass(frozen=True, slots=True)
class SignatureVerification:
    """Whether an Active Authentication signature verifies, with what and why not."""

    valid: bool
    mechanism: str
    reason: str


class _InvalidSignatureError(Exception):
    """A signature that fails a structural check (internal: becomes ``valid=False``)."""


def _iso9796_recover(key: RsaPublicKey, signature: bytes) -> bytes:
    """The message representative F of ISO/IEC 9796-2 scheme 1 (the RSA public operation)."""
    size = (key.bits + 7) // 8
    if not signature or len(signature) > size:
        raise _InvalidSignatureError(f"a signature of {len(signature)} bytes for an RSA-{key.bits}")
    s = int.from_bytes(signature, "big")
    if not 0 < s < key.modulus:
        raise _InvalidSignatureError("the signature is not below the modulus")
    j = pow(s, key.exponent, key.modulus)
    if j & 0xF != ISO9796_REPRESENTATIVE_NIBBLE:
        j = key.modulus - j
    if j & 0xF != ISO9796_REPRESENTATIVE_NIBBLE:
        raise _InvalidSignatureError("the recovered representative has no 9796-2 trailer")
    return j.to_bytes(size, "big")


def _iso9796_hash(representative: bytes) -> tuple[HashAlgorithm, int]:
    """The hash named by the trailer and the trailer's length."""
    if representative[-1] == ISO9796_IMPLICIT_SHA1:
        return HashAlgorithm.SHA1, 1
    if representative[-1] == ISO9796_EXPLICIT and representative[-2] in _HASH_BY_IDENTIFIER:
        return _HASH_BY_IDENTIFIER[representative[-2]], 2
    raise _InvalidSignatureError(f"unknown 9796-2 trailer {representative[-2:].hex().upper()}")


def _iso9796_message_start(representative: bytes, end: int) -> int:
    """Offset of the recoverable part M1: after the header nibble and the padding field."""
    first = representative[0]
    if first >> 4 != ISO9796_PARTIAL_RECOVERY:
        raise _InvalidSignatureError(
            f"header {first >> 4:X} is not partial message recovery with the challenge as M2"
        )
    start = 1
    if first & 0xF == ISO9796_PADDING:
        padding, last = ISO9796_PADDING_BYTES
        while start < end and representative[start] == padding:
            start += 1
        if start >= end or representative[start] != last:
            raise _InvalidSignatureError("the 9796-2 padding field does not end in nibble A")
        start += 1
    elif first & 0xF != ISO9796_NO_PADDING:
        raise _InvalidSignatureError("malformed 9796-2 padding field")
    return start


def verify_iso9796_2(
    key: RsaPublicKey, challenge: bytes, signature: bytes
) -> SignatureVerification:
    """ISO/IEC 9796-2 scheme 1 with ``M = M1 || challenge`` (ICAO 9303-11 §6.1.2)."""
    mechanism = f"RSA-{key.bits} ISO/IEC 9796-2 scheme 1"
    try:
        representative = _iso9796_recover(key, signature)
        algorithm, trailer = _iso9796_hash(representative)
        mechanism += f" with {algorithm.title}"
        end = len(representative) - trailer - algorithm.digest_size
        if end < 1:
            raise _InvalidSignatureError(f"the key is too short for {algorithm.title}")
        start = _iso9796_message_start(representative, end)
        recovered = representative[start:end]
        expected = algorithm.digest(recovered + challenge)
        if not hmac.compare_digest(expected, representative[end : end + len(expected)]):
            raise _InvalidSignatureError("the hash does not cover this challenge")
    except _InvalidSignatureError as exc:
        return SignatureVerification(False, mechanism, str(exc))
    return SignatureVerification(True, mechanism, "the signature covers the challenge")


def _der_signature(signature: bytes) -> tuple[int, int] | None:
    """``(r, s)`` of an X9.62 ``Ecdsa-Sig-Value`` spanning all of ``signature``, or None."""
    try:
        r, s = _sequence(tlv.decode_single(signature), "ECDSA signature", range(2, 3))
        return der_unsigned(r, MAX_FIELD_BYTES + 1), der_unsigned(s, MAX_FIELD_BYTES + 1)
    except ParseError:
        return None


def verify_ecdsa(
    key: EcPublicKey, challenge: bytes, signature: bytes, signature_algorithm: str | None
) -> SignatureVerification:
    """ECDSA over the challenge, plain ``r || s`` (TR-03111 §5.2.1) or DER (X9.62).

    The hash comes from ``signature_algorithm`` (ActiveAuthenticationInfo, ICAO 9303-11
    §9.2); :class:`UnsupportedProtocolError` when it is missing or unknown, or when the
    curve is one ``cryptography`` cannot verify on.
    """
    if signature_algorithm is None:
        raise UnsupportedProtocolError("an ECDSA key, but DG14 names no signature algorithm")
    if signature_algorithm not in ECDSA_SIGNATURE_ALGORITHMS:
        raise UnsupportedProtocolError(f"signature algorithm {signature_algorithm}")
    if key.parameter not in _CRYPTOGRAPHY_CURVES:
        raise UnsupportedProtocolError(f"ECDSA verification on {key.curve.name}")
    algorithm = ECDSA_SIGNATURE_ALGORITHMS[signature_algorithm]
    mechanism = f"ECDSA on {key.curve.name} with {algorithm.title}"
    public_key = ec.EllipticCurvePublicNumbers(
        key.point.x, key.point.y, _CRYPTOGRAPHY_CURVES[key.parameter]()
    ).public_key()
    size = (key.curve.n.bit_length() + 7) // 8
    forms: list[tuple[str, tuple[int, int]]] = []
    if len(signature) == 2 * size:
        forms.append(
            (
                "plain",
                (int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")),
            )
        )
    der = _der_signature(signature)
    if der is not None:
        forms.append(("DER", der))
    if not forms:
        return SignatureVerification(
            False, mechanism, f"{len(signature)} bytes are neither plain r||s nor DER"
        )
    for form, (r, s) in forms:
        try:
            public_key.verify(
                encode_dss_signature(r, s), challenge, ec.ECDSA(algorithm.for_cryptography())
            )
        except InvalidSignature:
            continue
        return SignatureVerification(
            True, f"{mechanism} ({form})", "the signature covers the challenge"
        )
    return SignatureVerification(False, mechanism, "the signature does not verify")


def verify_signature(
    key: RsaPublicKey | EcPublicKey,
    challenge: bytes,
    signature: bytes,
    signature_algorithm: str | None = None,
) -> SignatureVerification:
    """Verify the chip's answer to INTERNAL AUTHENTICATE (ICAO 9303-11 §6.1).

    RSA keys use the ISO/IEC 9796-2 trailer to find the hash and ignore
    ``signature_algorithm``; EC keys need it (the OID of the ActiveAuthenticationInfo).
    A malformed signature is an invalid one; only unsupported algorithms raise.
    """
    if isinstance(key, RsaPublicKey):
        return verify_iso9796_2(key, challenge, signature)
    return verify_ecdsa(key, challenge, signature, signature_algorithm)
