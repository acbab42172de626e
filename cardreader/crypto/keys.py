"""Public keys: the library's one SubjectPublicKeyInfo parser (RFC 5280 §4.1.2.7).

Used for certificates (passive authentication), DG15 (Active Authentication) and DG14 or
EF.CardSecurity (Chip Authentication). The layouts are declared (asn1crypto); the keys are
validated here:

- RSA (RFC 3279 §2.3.1; id-RSASSA-PSS keys too, RFC 4055 §1.2): odd modulus of at most
  :data:`MAX_RSA_MODULUS_BITS`, odd exponent ``3 <= e < n``;
- elliptic curves (RFC 3279 §2.3.5, BSI TR-03111 §5.1.1) named by OID (the table of
  :data:`cardreader.crypto.domain_params.NAMED_CURVES`) or given by explicit prime-field
  parameters, which are matched to a standardized curve when they describe one; the point
  must lie on the curve;
- X9.42 Diffie-Hellman (RFC 3279 §2.3.3) and BSI's standardizedDomainParameters (BSI
  TR-03110-3 §A.2.1.1), whose public values must lie in the subgroup (RFC 2631 §2.1.5).

:class:`ParseError` for malformed encodings and invalid keys, :class:`UnsupportedProtocolError`
for algorithms and parameters this library does not handle.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from asn1crypto import core
from asn1crypto import keys as asn1_keys

from cardreader.asn1 import UniversalTag, asn1_parse_errors, load
from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import (
    NAMED_CURVES,
    STANDARDIZED_DOMAIN_PARAMETERS,
    DomainParameters,
    StandardizedDomainParameter,
    standardized_domain_parameters,
)
from cardreader.crypto.ec import Curve, Point
from cardreader.errors import ParseError, UnsupportedProtocolError

MAX_RSA_MODULUS_BITS = 16384
MAX_EC_FIELD_BITS = 1024
"""Bounds that keep a hostile certificate from costing unbounded time."""
MAX_DH_MODULUS_BITS = 4096
MAX_DH_SUBGROUP_BITS = 512
"""DH subgroup orders up to 512 bits (the standardized groups use 160 to 256), which also
bounds the cost of validating a group and a key."""
MIN_DH_BITS, MIN_DH_SUBGROUP_BITS = 1024, 160
"""The weakest DH group accepted: that of RFC 5114 §2.1 (standardized parameter 0)."""


class KeyAlgorithm(enum.Enum):
    """Algorithm identifiers of a SubjectPublicKeyInfo."""

    RSA = "1.2.840.113549.1.1.1"
    """rsaEncryption (RFC 3279 §2.3.1)."""
    RSA_PSS = "1.2.840.113549.1.1.10"
    """id-RSASSA-PSS (RFC 4055 §1.2)."""
    EC_PUBLIC_KEY = "1.2.840.10045.2.1"
    """id-ecPublicKey (RFC 3279 §2.3.5)."""
    DH = "1.2.840.10046.2.1"
    """dhpublicnumber, X9.42 (RFC 3279 §2.3.3)."""
    STANDARDIZED_DOMAIN_PARAMETERS = "0.4.0.127.0.7.1.2"
    """standardizedDomainParameters with an INTEGER id (BSI TR-03110-3 §A.2.1.1)."""


NULL = bytes((UniversalTag.NULL, 0))
"""The DER NULL that rsaEncryption takes as parameters (RFC 3279 §2.3.1)."""
PRIME_FIELD = "1.2.840.10045.1.1"
"""prime-field, the only field type of explicit curve parameters accepted (X9.62)."""


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    """AlgorithmIdentifier (RFC 5280 §4.1.1.2); parameters depend on the algorithm."""

    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _SubjectPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    """SubjectPublicKeyInfo (RFC 5280 §4.1.2.7)."""

    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("algorithm", _AlgorithmIdentifier),
        ("subject_public_key", core.OctetBitString),
    ]


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
    """A point on a prime curve; ``parameter`` names the curve when it is standardized."""

    curve: Curve = field(repr=False)
    point: Point = field(repr=False)
    parameter: StandardizedDomainParameter | None

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
"""Any public key this library reads."""


def _unsigned(value: core.Integer, what: str, max_bits: int) -> int:
    number = value.native
    if not isinstance(number, int) or number < 0:
        raise ParseError(f"{what} must be a non-negative INTEGER")
    if number.bit_length() > max_bits:
        raise ParseError(f"{what} of {number.bit_length()} bits exceeds {max_bits}")
    return number


def _rsa_key(
    parameters: core.Asn1Value | None, key: bytes, algorithm: KeyAlgorithm
) -> RsaPublicKey:
    if algorithm is KeyAlgorithm.RSA and parameters is not None and parameters.dump() != NULL:
        raise ParseError("rsaEncryption takes NULL parameters")
    rsa = load(asn1_keys.RSAPublicKey, key, "RSAPublicKey")
    n = _unsigned(rsa["modulus"], "the RSA modulus", MAX_RSA_MODULUS_BITS)
    e = _unsigned(rsa["public_exponent"], "the RSA exponent", MAX_RSA_MODULUS_BITS)
    if not n & 1 or not 3 <= e < n or not e & 1:
        raise ParseError("not a valid RSA public key: n and e must be odd, 3 <= e < n")
    return RsaPublicKey(n, e)


def _standard_curve(curve: Curve) -> StandardizedDomainParameter | None:
    """The standardized curve with these p, a, b, G, n and h, if any."""
    for parameter, params in STANDARDIZED_DOMAIN_PARAMETERS.items():
        if isinstance(params, Curve) and dataclasses.replace(curve, name=params.name) == params:
            return parameter
    return None


def _explicit_curve(
    spec: asn1_keys.SpecifiedECDomain,
) -> tuple[Curve, StandardizedDomainParameter | None]:
    """SpecifiedECDomain (X9.62, BSI TR-03111 §5.1.1), bounded in size."""
    if spec["field_id"]["field_type"].dotted != PRIME_FIELD:
        raise UnsupportedProtocolError("only prime-field curves are supported")
    p = spec["field_id"]["parameters"].native
    if not isinstance(p, int) or p < 3 or p.bit_length() > MAX_EC_FIELD_BITS:
        raise ParseError("explicit curve parameters: bad prime")
    a = int.from_bytes(spec["curve"]["a"].native, "big")
    b = int.from_bytes(spec["curve"]["b"].native, "big")
    n = spec["order"].native
    cofactor = spec["cofactor"].native if spec["cofactor"].native is not None else 1
    if not (0 < n < 2 * p + 2) or not (0 < cofactor < p):
        raise ParseError("explicit curve parameters: bad order or cofactor")
    base = Curve("explicit", p, a % p, b % p, Point(0, 0), n, cofactor)
    curve = base.with_generator(base.decode_point(spec["base"].native))
    parameter = _standard_curve(curve)
    if parameter is None:
        return curve, None
    standard = STANDARDIZED_DOMAIN_PARAMETERS[parameter]
    assert isinstance(standard, Curve)
    return standard, parameter


def _ec_curve(
    parameters: core.Asn1Value | None,
) -> tuple[Curve, StandardizedDomainParameter | None]:
    """ECParameters: a named curve OID or explicit parameters (RFC 3279 §2.3.5)."""
    if parameters is None:
        raise ParseError(
            f"public key algorithm {KeyAlgorithm.EC_PUBLIC_KEY.value} without domain parameters"
        )
    chosen = load(asn1_keys.ECDomainParameters, parameters.dump(), "curve parameters")
    if chosen.name == "named":
        oid = chosen.chosen.dotted
        if oid not in NAMED_CURVES:
            raise UnsupportedProtocolError(f"elliptic curve {oid} is not supported")
        named = NAMED_CURVES[oid]
        return named.curve, named.parameter
    if chosen.name == "implicit_ca":
        raise UnsupportedProtocolError("implicitly-CA curve parameters are not supported")
    with asn1_parse_errors("explicit curve parameters"):
        return _explicit_curve(chosen.chosen)


def _dh_group(
    parameters: core.Asn1Value | None,
) -> tuple[DhGroup, StandardizedDomainParameter | None]:
    """X9.42 DomainParameters ``{p, g, q, j, validationParms}`` (RFC 3279 §2.3.3)."""
    if parameters is None:
        raise ParseError(f"public key algorithm {KeyAlgorithm.DH.value} without domain parameters")
    domain = load(asn1_keys.DomainParameters, parameters.dump(), "DH domain parameters")
    p = _unsigned(domain["p"], "the DH prime", MAX_DH_MODULUS_BITS)
    g = _unsigned(domain["g"], "the DH generator", MAX_DH_MODULUS_BITS)
    q = _unsigned(domain["q"], "the DH subgroup order", MAX_DH_SUBGROUP_BITS)
    if p < 3 or not p & 1 or not 1 < g < p or not 1 < q < p or pow(g, q, p) != 1:
        raise ParseError("DH domain parameters where g does not generate a group of order q")
    if p.bit_length() < MIN_DH_BITS or q.bit_length() < MIN_DH_SUBGROUP_BITS:
        raise UnsupportedProtocolError(f"a DH group of {p.bit_length()}/{q.bit_length()} bits")
    for parameter, params in STANDARDIZED_DOMAIN_PARAMETERS.items():
        if isinstance(params, DhGroup) and (params.p, params.g, params.q) == (p, g, q):
            return params, parameter
    return DhGroup(f"{p.bit_length()}-bit DH group", p, g, q), None


def _dh_key(
    group: DhGroup, parameter: StandardizedDomainParameter | None, key: bytes
) -> DhPublicKey:
    value = _unsigned(
        load(core.Integer, key, "DH public value"), "the DH public value", MAX_DH_MODULUS_BITS
    )
    if not group.is_valid_element(value):
        raise ParseError(f"the DH public value is not an element of order q in {group.name}")
    return DhPublicKey(group, value, parameter)


def _standardized_key(parameters: core.Asn1Value | None, key: bytes) -> EcPublicKey | DhPublicKey:
    """standardizedDomainParameters: an INTEGER naming the group (BSI TR-03110-3 §A.2.1.1)."""
    if parameters is None:
        raise ParseError("standardizedDomainParameters without an ID")
    number = _unsigned(
        load(core.Integer, parameters.dump(), "domain parameter ID"), "the domain parameter ID", 8
    )
    params = standardized_domain_parameters(number)
    parameter = StandardizedDomainParameter(number)
    if isinstance(params, Curve):
        return EcPublicKey(params, params.decode_point(key), parameter)
    return _dh_key(params, parameter, key)


def parse_subject_public_key_info(der: bytes) -> PublicKey:
    """Parse a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) into a validated public key.

    :class:`ParseError` for malformed encodings and invalid keys (a point off the curve, a
    DH value outside the group); :class:`UnsupportedProtocolError` for algorithms and
    parameters this library does not handle.
    """
    info = load(_SubjectPublicKeyInfo, der, "SubjectPublicKeyInfo")
    dotted = info["algorithm"]["algorithm"].dotted
    raw_parameters = info["algorithm"]["parameters"]
    parameters = None if isinstance(raw_parameters, core.Void) else raw_parameters
    with asn1_parse_errors("subject public key"):
        key = bytes(info["subject_public_key"])
    try:
        algorithm = KeyAlgorithm(dotted)
    except ValueError:
        raise UnsupportedProtocolError(f"public key algorithm {dotted} is not supported") from None
    if algorithm in (KeyAlgorithm.RSA, KeyAlgorithm.RSA_PSS):
        return _rsa_key(parameters, key, algorithm)
    if algorithm is KeyAlgorithm.EC_PUBLIC_KEY:
        curve, parameter = _ec_curve(parameters)
        return EcPublicKey(curve, curve.decode_point(key), parameter)
    if algorithm is KeyAlgorithm.DH:
        group, parameter = _dh_group(parameters)
        return _dh_key(group, parameter, key)
    return _standardized_key(parameters, key)


def standardized_only(key: EcPublicKey | DhPublicKey) -> None:
    """Refuse an EC key on a curve outside ICAO 9303-11 table 12 (chip keys use those)."""
    if isinstance(key, EcPublicKey) and key.parameter is None:
        raise UnsupportedProtocolError("explicit curve parameters that match no standardized curve")
