"""X.509 certificates and signature verification for passive authentication.

Certificates are parsed to the fields passive authentication needs (RFC 5280 §4.1,
ICAO 9303-12 §7). Signatures: RSASSA-PKCS1-v1_5 and RSASSA-PSS with the parameters of its
AlgorithmIdentifier (RFC 8017 §8, RFC 4055 §3.1), ECDSA with DER (RFC 3279 §2.2.3) or plain
``r || s`` signatures (BSI TR-03111 §5.2.1) on the NIST and Brainpool curves, including
keys given with explicit curve parameters (RFC 3279 §2.3.5): those are matched against the
standardized curves, and a curve ``cryptography`` cannot handle is verified with the
arithmetic of :mod:`cardreader.crypto.ec` (BSI TR-03111 §4.2.1.2).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from asn1crypto import algos, keys, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cardreader.crypto.domain_params import (
    STANDARDIZED_DOMAIN_PARAMETERS,
    StandardizedDomainParameter,
)
from cardreader.crypto.ec import Curve, Point
from cardreader.errors import ParseError, UnsupportedProtocolError

MAX_CERTIFICATE_BYTES = 65536
MAX_RSA_MODULUS_BITS = 16384
MAX_EC_FIELD_BITS = 1024
"""Bounds that keep a hostile certificate from costing unbounded time."""

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)
"""What asn1crypto raises on malformed input (it parses lazily, on access)."""


@contextmanager
def asn1_parse_errors(what: str) -> Iterator[None]:
    """Turn asn1crypto's exceptions inside the block into :class:`ParseError`."""
    try:
        yield
    except ParseError:
        raise
    except _ASN1_ERRORS as exc:
        raise ParseError(f"malformed {what}: {exc}") from exc
    except RecursionError as exc:
        raise ParseError(f"{what} nested too deeply") from exc


class DigestAlgorithm(enum.Enum):
    """Hash functions allowed in eMRTD PKI objects (ICAO 9303-12 §4.4.2), by OID."""

    SHA1 = ("1.3.14.3.2.26", "sha1")
    SHA224 = ("2.16.840.1.101.3.4.2.4", "sha224")
    SHA256 = ("2.16.840.1.101.3.4.2.1", "sha256")
    SHA384 = ("2.16.840.1.101.3.4.2.2", "sha384")
    SHA512 = ("2.16.840.1.101.3.4.2.3", "sha512")

    @property
    def oid(self) -> str:
        return self.value[0]

    @property
    def label(self) -> str:
        """Human name, e.g. ``SHA-256``."""
        return self.name.replace("SHA", "SHA-")

    @property
    def digest_size(self) -> int:
        return hashlib.new(self.value[1]).digest_size

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.value[1], data).digest()

    def cryptography_hash(self) -> hashes.HashAlgorithm:
        return _CRYPTOGRAPHY_HASHES[self]()

    @classmethod
    def from_oid(cls, oid: str) -> DigestAlgorithm:
        for algorithm in cls:
            if algorithm.oid == oid:
                return algorithm
        raise UnsupportedProtocolError(f"hash algorithm {oid} is not supported")


_CRYPTOGRAPHY_HASHES: Mapping[DigestAlgorithm, type[hashes.HashAlgorithm]] = MappingProxyType(
    {
        DigestAlgorithm.SHA1: hashes.SHA1,
        DigestAlgorithm.SHA224: hashes.SHA224,
        DigestAlgorithm.SHA256: hashes.SHA256,
        DigestAlgorithm.SHA384: hashes.SHA384,
        DigestAlgorithm.SHA512: hashes.SHA512,
    }
)


class SignatureScheme(enum.Enum):
    RSA_PKCS1V15 = "RSASSA-PKCS1-v1_5"
    RSA_PSS = "RSASSA-PSS"
    ECDSA = "ECDSA"
    ECDSA_PLAIN = "ECDSA (plain r||s)"


_RSA_PSS_OID = "1.2.840.113549.1.1.10"
_MGF1_OID = "1.2.840.113549.1.1.8"
_PSS_TRAILER_FIELD_BC = 1

_SIGNATURE_ALGORITHMS: Mapping[str, tuple[SignatureScheme, DigestAlgorithm | None]] = (
    MappingProxyType(
        {
            # rsaEncryption and id-ecPublicKey: the hash comes from the signer's digest algorithm.
            "1.2.840.113549.1.1.1": (SignatureScheme.RSA_PKCS1V15, None),
            "1.2.840.113549.1.1.5": (SignatureScheme.RSA_PKCS1V15, DigestAlgorithm.SHA1),
            "1.2.840.113549.1.1.14": (SignatureScheme.RSA_PKCS1V15, DigestAlgorithm.SHA224),
            "1.2.840.113549.1.1.11": (SignatureScheme.RSA_PKCS1V15, DigestAlgorithm.SHA256),
            "1.2.840.113549.1.1.12": (SignatureScheme.RSA_PKCS1V15, DigestAlgorithm.SHA384),
            "1.2.840.113549.1.1.13": (SignatureScheme.RSA_PKCS1V15, DigestAlgorithm.SHA512),
            _RSA_PSS_OID: (SignatureScheme.RSA_PSS, None),
            "1.2.840.10045.2.1": (SignatureScheme.ECDSA, None),
            "1.2.840.10045.4.1": (SignatureScheme.ECDSA, DigestAlgorithm.SHA1),
            "1.2.840.10045.4.3.1": (SignatureScheme.ECDSA, DigestAlgorithm.SHA224),
            "1.2.840.10045.4.3.2": (SignatureScheme.ECDSA, DigestAlgorithm.SHA256),
            "1.2.840.10045.4.3.3": (SignatureScheme.ECDSA, DigestAlgorithm.SHA384),
            "1.2.840.10045.4.3.4": (SignatureScheme.ECDSA, DigestAlgorithm.SHA512),
            # BSI TR-03111 §5.2.1 ecdsa-plain-signatures
            "0.4.0.127.0.7.1.1.4.1.1": (SignatureScheme.ECDSA_PLAIN, DigestAlgorithm.SHA1),
            "0.4.0.127.0.7.1.1.4.1.2": (SignatureScheme.ECDSA_PLAIN, DigestAlgorithm.SHA224),
            "0.4.0.127.0.7.1.1.4.1.3": (SignatureScheme.ECDSA_PLAIN, DigestAlgorithm.SHA256),
            "0.4.0.127.0.7.1.1.4.1.4": (SignatureScheme.ECDSA_PLAIN, DigestAlgorithm.SHA384),
            "0.4.0.127.0.7.1.1.4.1.5": (SignatureScheme.ECDSA_PLAIN, DigestAlgorithm.SHA512),
        }
    )
)

_RSA_KEY_OIDS = frozenset(("1.2.840.113549.1.1.1", _RSA_PSS_OID))
_EC_KEY_OID = "1.2.840.10045.2.1"
_PRIME_FIELD_OID = "1.2.840.10045.1.1"

_NAMED_CURVES: Mapping[str, StandardizedDomainParameter] = MappingProxyType(
    {
        "1.2.840.10045.3.1.1": StandardizedDomainParameter.SECP192R1,
        "1.3.132.0.33": StandardizedDomainParameter.SECP224R1,
        "1.2.840.10045.3.1.7": StandardizedDomainParameter.SECP256R1,
        "1.3.132.0.34": StandardizedDomainParameter.SECP384R1,
        "1.3.132.0.35": StandardizedDomainParameter.SECP521R1,
        "1.3.36.3.3.2.8.1.1.3": StandardizedDomainParameter.BRAINPOOL_P192R1,
        "1.3.36.3.3.2.8.1.1.5": StandardizedDomainParameter.BRAINPOOL_P224R1,
        "1.3.36.3.3.2.8.1.1.7": StandardizedDomainParameter.BRAINPOOL_P256R1,
        "1.3.36.3.3.2.8.1.1.9": StandardizedDomainParameter.BRAINPOOL_P320R1,
        "1.3.36.3.3.2.8.1.1.11": StandardizedDomainParameter.BRAINPOOL_P384R1,
        "1.3.36.3.3.2.8.1.1.13": StandardizedDomainParameter.BRAINPOOL_P512R1,
    }
)
"""Named curve OIDs (RFC 5480 §2.1.1.1, RFC 5639 §4.1)."""

_CRYPTOGRAPHY_CURVES: Mapping[StandardizedDomainParameter, type[crypto_ec.EllipticCurve]] = (
    MappingProxyType(
        {
            StandardizedDomainParameter.SECP192R1: crypto_ec.SECP192R1,
            StandardizedDomainParameter.SECP224R1: crypto_ec.SECP224R1,
            StandardizedDomainParameter.SECP256R1: crypto_ec.SECP256R1,
            StandardizedDomainParameter.SECP384R1: crypto_ec.SECP384R1,
            StandardizedDomainParameter.SECP521R1: crypto_ec.SECP521R1,
            StandardizedDomainParameter.BRAINPOOL_P256R1: crypto_ec.BrainpoolP256R1,
            StandardizedDomainParameter.BRAINPOOL_P384R1: crypto_ec.BrainpoolP384R1,
            StandardizedDomainParameter.BRAINPOOL_P512R1: crypto_ec.BrainpoolP512R1,
        }
    )
)
"""The curves ``cryptography`` verifies on; other curves use :mod:`cardreader.crypto.ec`."""


# -- public keys -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _EcKey:
    curve: Curve
    point: Point
    named: StandardizedDomainParameter | None
    explicit: bool


def _ec_curve(
    parameters: keys.ECDomainParameters,
) -> tuple[Curve, StandardizedDomainParameter | None]:
    """The curve of an EC key: named, or explicit parameters matched to a named curve."""
    if parameters.name == "named":
        oid = parameters.chosen.dotted
        if oid not in _NAMED_CURVES:
            raise UnsupportedProtocolError(f"elliptic curve {oid} is not supported")
        named = _NAMED_CURVES[oid]
        curve = STANDARDIZED_DOMAIN_PARAMETERS[named]
        assert isinstance(curve, Curve)
        return curve, named
    if parameters.name != "specified":
        raise UnsupportedProtocolError("implicitly-CA curve parameters are not supported")
    spec = parameters.chosen
    if spec["field_id"]["field_type"].dotted != _PRIME_FIELD_OID:
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
    for named, params in STANDARDIZED_DOMAIN_PARAMETERS.items():
        if isinstance(params, Curve) and (params.p, params.a, params.b, params.g, params.n) == (
            curve.p,
            curve.a,
            curve.b,
            curve.g,
            curve.n,
        ):
            return params, named
    return curve, None


def _load_public_key(spki: bytes) -> rsa.RSAPublicKey | _EcKey:
    """The key of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7)."""
    with asn1_parse_errors("public key"):
        info = keys.PublicKeyInfo.load(spki, strict=True)
        oid = info["algorithm"]["algorithm"].dotted
        if oid in _RSA_KEY_OIDS:
            parsed = info["public_key"].parsed
            modulus, exponent = parsed["modulus"].native, parsed["public_exponent"].native
            if modulus.bit_length() > MAX_RSA_MODULUS_BITS:
                raise ParseError("RSA modulus too large")
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        if oid == _EC_KEY_OID:
            params = info["algorithm"]["parameters"]
            curve, named = _ec_curve(params)
            point = curve.decode_point(bytes(info["public_key"].native))
            return _EcKey(curve, point, named, explicit=params.name == "specified")
    raise UnsupportedProtocolError(f"public key algorithm {oid} is not supported")


# -- signatures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Algorithm:
    scheme: SignatureScheme
    digest: DigestAlgorithm
    pss: padding.PSS | None = None


def _pss_padding(parameters: Any) -> tuple[DigestAlgorithm, padding.PSS]:
    """RSASSA-PSS-params with their defaults (RFC 4055 §3.1)."""
    digest = DigestAlgorithm.from_oid(parameters["hash_algorithm"]["algorithm"].dotted)
    mgf = parameters["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != _MGF1_OID:
        raise UnsupportedProtocolError(f"PSS mask generation {mgf['algorithm'].dotted}")
    mgf_digest = DigestAlgorithm.from_oid(mgf["parameters"]["algorithm"].dotted)
    salt = parameters["salt_length"].native
    if parameters["trailer_field"].native not in ("trailer_field_bc", _PSS_TRAILER_FIELD_BC):
        raise UnsupportedProtocolError("PSS trailer field other than 0xBC")
    if not 0 <= salt <= 1024:
        raise ParseError(f"PSS salt length {salt} out of range")
    pss = padding.PSS(mgf=padding.MGF1(mgf_digest.cryptography_hash()), salt_length=salt)
    return digest, pss


def _signature_algorithm(algorithm: bytes, digest: DigestAlgorithm | None) -> _Algorithm:
    with asn1_parse_errors("signature algorithm"):
        identifier = algos.SignedDigestAlgorithm.load(algorithm, strict=True)
        oid = identifier["algorithm"].dotted
        if oid not in _SIGNATURE_ALGORITHMS:
            raise UnsupportedProtocolError(f"signature algorithm {oid} is not supported")
        scheme, implied = _SIGNATURE_ALGORITHMS[oid]
        if scheme is SignatureScheme.RSA_PSS:
            params = identifier["parameters"]
            if not isinstance(params, algos.RSASSAPSSParams):
                params = algos.RSASSAPSSParams()
            pss_digest, pss = _pss_padding(params)
            return _Algorithm(scheme, pss_digest, pss)
    chosen = implied or digest
    if chosen is None:
        raise ParseError(f"signature algorithm {oid} needs a digest algorithm")
    return _Algorithm(scheme, chosen)


def _bits_to_int(digest: bytes, order: int) -> int:
    """The hash as an integer truncated to the bit length of the order (TR-03111 §4.2.1.1)."""
    value = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - order.bit_length()
    return value >> excess if excess > 0 else value


def _ecdsa_with_own_arithmetic(key: _EcKey, digest: bytes, r: int, s: int) -> bool:
    """ECDSA verification (BSI TR-03111 §4.2.1.2) on a curve ``cryptography`` lacks."""
    curve = key.curve
    n = curve.n
    if not (0 < r < n and 0 < s < n) or curve.multiply(n, key.point) is not None:
        return False
    w = pow(s, -1, n)
    e = _bits_to_int(digest, n)
    total = curve.add(curve.multiply(e * w % n, curve.g), curve.multiply(r * w % n, key.point))
    return total is not None and total.x % n == r


def _ecdsa_components(scheme: SignatureScheme, key: _EcKey, signature: bytes) -> tuple[int, int]:
    if scheme is SignatureScheme.ECDSA_PLAIN:
        size = (key.curve.n.bit_length() + 7) // 8
        if len(signature) != 2 * size:
            raise ValueError("plain ECDSA signature of the wrong length")
        return int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    return decode_dss_signature(signature)


def verify_signature(
    public_key: bytes,
    algorithm: bytes,
    signature: bytes,
    message: bytes,
    digest: DigestAlgorithm | None = None,
) -> bool:
    """Whether ``signature`` over ``message`` verifies with the SubjectPublicKeyInfo ``public_key``.

    ``algorithm`` is the DER AlgorithmIdentifier of the signature; ``digest`` gives the hash
    when that identifier names none (rsaEncryption or id-ecPublicKey in a CMS SignerInfo).
    Raises :class:`ParseError` for a malformed key or identifier and
    :class:`UnsupportedProtocolError` for an algorithm or curve this library lacks.
    """
    chosen = _signature_algorithm(algorithm, digest)
    key = _load_public_key(public_key)
    rsa_scheme = chosen.scheme in (SignatureScheme.RSA_PKCS1V15, SignatureScheme.RSA_PSS)
    if rsa_scheme != isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad = chosen.pss or padding.PKCS1v15()
            key.verify(signature, message, pad, chosen.digest.cryptography_hash())
            return True
        r, s = _ecdsa_components(chosen.scheme, key, signature)
        if key.named is None or key.named not in _CRYPTOGRAPHY_CURVES:
            return _ecdsa_with_own_arithmetic(key, chosen.digest.digest(message), r, s)
        numbers = crypto_ec.EllipticCurvePublicNumbers(
            key.point.x, key.point.y, _CRYPTOGRAPHY_CURVES[key.named]()
        )
        numbers.public_key().verify(
            encode_dss_signature(r, s), message, crypto_ec.ECDSA(chosen.digest.cryptography_hash())
        )
        return True
    except (InvalidSignature, ValueError):
        return False


def signature_algorithm_label(algorithm: bytes) -> str:
    """A short name of a signature AlgorithmIdentifier, e.g. ``RSASSA-PSS SHA-256``."""
    try:
        chosen = _signature_algorithm(algorithm, DigestAlgorithm.SHA256)
    except (ParseError, UnsupportedProtocolError) as exc:
        return f"unknown ({exc})"
    return f"{chosen.scheme.value} {chosen.digest.label}"


# -- certificates ----------------------------------------------------------------------


class KeyUsage(enum.Enum):
    """keyUsage bits (RFC 5280 §4.2.1.3), named as asn1crypto names them."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "non_repudiation"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"


@dataclass(frozen=True, slots=True)
class DistinguishedName:
    """An X.501 name: its DER, a readable form, its country and a key for matching."""

    der: bytes = field(repr=False)
    text: str
    country: str | None
    match_key: str = field(repr=False)
    """RFC 5280 §7.1 comparison form (case and spaces folded)."""

    def __str__(self) -> str:
        return self.text


def distinguished_name(name: x509.Name) -> DistinguishedName:
    """Convert an asn1crypto Name (call inside :func:`asn1_parse_errors`)."""
    country = name.native.get("country_name") if isinstance(name.native, dict) else None
    return DistinguishedName(
        der=name.dump(),
        text=name.human_friendly,
        country=country.upper() if isinstance(country, str) else None,
        match_key=name.hashable,
    )


def _utc(value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ParseError("certificate time outside the supported range")
    return value


@dataclass(frozen=True, slots=True)
class Certificate:
    """The fields of an X.509 certificate that passive authentication uses (RFC 5280 §4.1)."""

    der: bytes = field(repr=False)
    tbs: bytes = field(repr=False)
    serial_number: int
    issuer: DistinguishedName
    subject: DistinguishedName
    not_before: datetime
    not_after: datetime
    public_key: bytes = field(repr=False)
    signature_algorithm: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    key_usage: frozenset[KeyUsage] | None
    """None when the certificate has no keyUsage extension."""
    ca: bool
    """basicConstraints cA (False when the extension is absent)."""
    subject_key_identifier: bytes | None
    authority_key_identifier: bytes | None

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after

    def is_signed_by(self, issuer: Certificate) -> bool:
        """Whether ``issuer``'s key verifies this certificate's signature."""
        return verify_signature(
            issuer.public_key, self.signature_algorithm, self.signature, self.tbs
        )

    def may_be_issued_by(self, issuer: Certificate) -> bool:
        """Names match and, when both are given, the key identifiers (RFC 5280 §4.2.1.1)."""
        if self.issuer.match_key != issuer.subject.match_key:
            return False
        aki, ski = self.authority_key_identifier, issuer.subject_key_identifier
        return aki is None or ski is None or aki == ski


def certificate_from_asn1(cert: x509.Certificate) -> Certificate:
    """Convert a parsed asn1crypto certificate (call inside :func:`asn1_parse_errors`)."""
    tbs = cert["tbs_certificate"]
    if tbs["signature"].dump() != cert["signature_algorithm"].dump():
        raise ParseError("certificate signature algorithms disagree (RFC 5280 §4.1.1.2)")
    usage = cert.key_usage_value
    constraints = cert.basic_constraints_value
    aki = cert.authority_key_identifier_value
    aki_bytes = aki["key_identifier"].native if aki is not None else None
    ski = cert.key_identifier_value
    validity = tbs["validity"]
    return Certificate(
        der=cert.dump(),
        tbs=tbs.dump(),
        serial_number=tbs["serial_number"].native,
        issuer=distinguished_name(tbs["issuer"]),
        subject=distinguished_name(tbs["subject"]),
        not_before=_utc(validity["not_before"].native),
        not_after=_utc(validity["not_after"].native),
        public_key=tbs["subject_public_key_info"].dump(),
        signature_algorithm=cert["signature_algorithm"].dump(),
        signature=bytes(cert["signature_value"].native),
        key_usage=None if usage is None else frozenset(KeyUsage(u) for u in usage.native),
        ca=bool(constraints is not None and constraints["ca"].native),
        subject_key_identifier=ski.native if ski is not None else None,
        authority_key_identifier=aki_bytes,
    )


def parse_certificate(der: bytes) -> Certificate:
    """Parse one DER X.509 certificate; :class:`ParseError` if malformed or too large."""
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise ParseError(f"certificate of {len(der)} bytes exceeds {MAX_CERTIFICATE_BYTES}")
    with asn1_parse_errors("certificate"):
        return certificate_from_asn1(x509.Certificate.load(der, strict=True))
