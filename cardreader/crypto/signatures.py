"""Signature schemes and the library's one ECDSA verifier, for passive, active and chip
authentication.

- :data:`SIGNATURE_ALGORITHMS`: the AlgorithmIdentifier OIDs of RSASSA-PKCS1-v1_5 (RFC 8017
  §8.2, RFC 4055 §5), RSASSA-PSS (RFC 4055 §3.1), ECDSA with DER signatures (RFC 3279
  §2.2.3, RFC 5758 §3.2) and ECDSA with plain ``r || s`` signatures (BSI TR-03111 §5.2.1).
- :func:`verify_ecdsa`: ECDSA verification (BSI TR-03111 §4.2.1.2) with ``cryptography``
  on the curves it knows (:data:`cardreader.crypto.domain_params.NAMED_CURVES`) and with
  the arithmetic of :mod:`cardreader.crypto.ec` on the others; the same answer either way.
- :func:`verify_rsa`: RSASSA-PKCS1-v1_5 and RSASSA-PSS with ``cryptography``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cardreader.crypto.digests import DigestAlgorithm
from cardreader.crypto.domain_params import CURVE_NAMES
from cardreader.crypto.keys import EcPublicKey, RsaPublicKey


class SignatureScheme(enum.Enum):
    RSA_PKCS1V15 = "RSASSA-PKCS1-v1_5"
    RSA_PSS = "RSASSA-PSS"
    ECDSA = "ECDSA"
    ECDSA_PLAIN = "ECDSA (plain r||s)"

    @property
    def is_ecdsa(self) -> bool:
        return self in (SignatureScheme.ECDSA, SignatureScheme.ECDSA_PLAIN)


@dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    """What a signature AlgorithmIdentifier OID names; ``digest`` None when the hash is
    given elsewhere (rsaEncryption and id-ecPublicKey in CMS, RSASSA-PSS parameters)."""

    scheme: SignatureScheme
    digest: DigestAlgorithm | None


RSA_PSS_OID = "1.2.840.113549.1.1.10"
_D, _S = DigestAlgorithm, SignatureScheme
SIGNATURE_ALGORITHMS: Mapping[str, SignatureAlgorithm] = MappingProxyType(
    {
        "1.2.840.113549.1.1.1": SignatureAlgorithm(_S.RSA_PKCS1V15, None),
        "1.2.840.113549.1.1.5": SignatureAlgorithm(_S.RSA_PKCS1V15, _D.SHA1),
        "1.2.840.113549.1.1.14": SignatureAlgorithm(_S.RSA_PKCS1V15, _D.SHA224),
        "1.2.840.113549.1.1.11": SignatureAlgorithm(_S.RSA_PKCS1V15, _D.SHA256),
        "1.2.840.113549.1.1.12": SignatureAlgorithm(_S.RSA_PKCS1V15, _D.SHA384),
        "1.2.840.113549.1.1.13": SignatureAlgorithm(_S.RSA_PKCS1V15, _D.SHA512),
        RSA_PSS_OID: SignatureAlgorithm(_S.RSA_PSS, None),
        "1.2.840.10045.2.1": SignatureAlgorithm(_S.ECDSA, None),
        "1.2.840.10045.4.1": SignatureAlgorithm(_S.ECDSA, _D.SHA1),
        "1.2.840.10045.4.3.1": SignatureAlgorithm(_S.ECDSA, _D.SHA224),
        "1.2.840.10045.4.3.2": SignatureAlgorithm(_S.ECDSA, _D.SHA256),
        "1.2.840.10045.4.3.3": SignatureAlgorithm(_S.ECDSA, _D.SHA384),
        "1.2.840.10045.4.3.4": SignatureAlgorithm(_S.ECDSA, _D.SHA512),
        "0.4.0.127.0.7.1.1.4.1.1": SignatureAlgorithm(_S.ECDSA_PLAIN, _D.SHA1),
        "0.4.0.127.0.7.1.1.4.1.2": SignatureAlgorithm(_S.ECDSA_PLAIN, _D.SHA224),
        "0.4.0.127.0.7.1.1.4.1.3": SignatureAlgorithm(_S.ECDSA_PLAIN, _D.SHA256),
        "0.4.0.127.0.7.1.1.4.1.4": SignatureAlgorithm(_S.ECDSA_PLAIN, _D.SHA384),
        "0.4.0.127.0.7.1.1.4.1.5": SignatureAlgorithm(_S.ECDSA_PLAIN, _D.SHA512),
    }
)
"""Signature algorithms by OID."""


def ecdsa_plain_values(key: EcPublicKey, signature: bytes) -> tuple[int, int] | None:
    """``(r, s)`` of a plain signature: two integers as long as the order (TR-03111 §5.2.1)."""
    size = (key.curve.n.bit_length() + 7) // 8
    if len(signature) != 2 * size:
        return None
    return int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")


def ecdsa_der_values(signature: bytes) -> tuple[int, int] | None:
    """``(r, s)`` of an X9.62 ``Ecdsa-Sig-Value`` spanning all of ``signature``, or None."""
    try:
        return decode_dss_signature(signature)
    except ValueError:
        return None


def _bits_to_int(digest: bytes, order: int) -> int:
    """The hash as an integer truncated to the bit length of the order (TR-03111 §4.2.1.1)."""
    value = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - order.bit_length()
    return value >> excess if excess > 0 else value


def _verify_with_own_arithmetic(key: EcPublicKey, digest: bytes, r: int, s: int) -> bool:
    """ECDSA verification, BSI TR-03111 §4.2.1.2, on a curve ``cryptography`` lacks."""
    curve = key.curve
    n = curve.n
    if curve.multiply(n, key.point) is not None:  # the key is outside the group of order n
        return False
    w = pow(s, -1, n)
    e = _bits_to_int(digest, n)
    total = curve.add(curve.multiply(e * w % n, curve.g), curve.multiply(r * w % n, key.point))
    return total is not None and total.x % n == r


def verify_ecdsa(
    key: EcPublicKey, digest: DigestAlgorithm, message: bytes, values: tuple[int, int]
) -> bool:
    """Whether ``values`` ``(r, s)`` are an ECDSA signature of ``message`` under ``key``."""
    r, s = values
    n = key.curve.n
    if not (0 < r < n and 0 < s < n):
        return False
    named = None if key.parameter is None else CURVE_NAMES.get(key.parameter)
    if named is None or named.backend is None:
        return _verify_with_own_arithmetic(key, digest.digest(message), r, s)
    public_key = crypto_ec.EllipticCurvePublicNumbers(
        key.point.x, key.point.y, named.backend()
    ).public_key()
    try:
        public_key.verify(
            encode_dss_signature(r, s), message, crypto_ec.ECDSA(digest.cryptography_hash())
        )
    except InvalidSignature:
        return False
    return True


def verify_rsa(
    key: RsaPublicKey,
    digest: DigestAlgorithm,
    message: bytes,
    signature: bytes,
    pss: padding.PSS | None = None,
) -> bool:
    """RSASSA-PSS with ``pss`` padding, else RSASSA-PKCS1-v1_5 (RFC 8017 §8)."""
    public_key = rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key()
    try:
        public_key.verify(signature, message, pss or padding.PKCS1v15(), digest.cryptography_hash())
    except (InvalidSignature, ValueError):
        return False
    return True
