"""Active Authentication: DG15's public key and the chip's signature over a challenge.

- DG15, ActiveAuthenticationPublicKeyInfo (ICAO 9303-10 §4.7.15): a SubjectPublicKeyInfo
  read by the library's one key parser (:mod:`cardreader.crypto.keys`), RSA of at least
  1024 bits (ICAO 9303-11 §6.1) or EC on a standardized curve.
- The signature over the terminal's challenge (ICAO 9303-11 §6.1): RSA with ISO/IEC 9796-2
  digital signature scheme 1 (partial message recovery; trailer ``BC`` for SHA-1 or
  ``xx CC`` naming the hash by its ISO/IEC 10118-3 identifier), or ECDSA in the plain
  ``r || s`` form of BSI TR-03111 §5.2.1 or the DER form of X9.62, verified by the
  library's one ECDSA verifier (:func:`cardreader.crypto.signatures.verify_ecdsa`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from cardreader.crypto.digests import DigestAlgorithm
from cardreader.crypto.keys import (
    DhPublicKey,
    EcPublicKey,
    RsaPublicKey,
    parse_subject_public_key_info,
    standardized_only,
)
from cardreader.crypto.signatures import (
    SIGNATURE_ALGORITHMS,
    ecdsa_der_values,
    ecdsa_plain_values,
    verify_ecdsa,
)
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv

MIN_RSA_BITS = 1024
"""ICAO 9303-11 §6.1: Active Authentication keys have at least 1024 bits."""
MAX_RSA_BITS = 4096
"""The RSA operation of ISO/IEC 9796-2 runs in Python: keys above this are refused."""
DG15_TAG = 0x6F
"""Tag of DG15 (ICAO 9303-10 §4.7.15)."""


# -- DG15 ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveAuthenticationPublicKeyInfo:
    """DG15: the chip's Active Authentication public key (ICAO 9303-10 §4.7.15)."""

    public_key: RsaPublicKey | EcPublicKey
    subject_public_key_info: bytes = field(repr=False)


def parse_dg15(data: bytes) -> ActiveAuthenticationPublicKeyInfo:
    """Parse DG15 (tag 6F around a SubjectPublicKeyInfo); RSA or EC keys only."""
    spki = tlv.decode_padded(data, DG15_TAG, "DG15").value
    key = parse_subject_public_key_info(spki)
    if isinstance(key, DhPublicKey):
        raise ParseError("DG15 holds a DH key, which cannot sign")
    if isinstance(key, RsaPublicKey) and not MIN_RSA_BITS <= key.bits <= MAX_RSA_BITS:
        raise ParseError(f"an RSA key of {key.bits} bits: at least 1024 bits, at most 4096")
    if isinstance(key, EcPublicKey):
        standardized_only(key)
    return ActiveAuthenticationPublicKeyInfo(key, spki)


# -- signatures ----------------------------------------------------------------------------

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


def _iso9796_hash(representative: bytes) -> tuple[DigestAlgorithm, int]:
    """The hash named by the trailer and the trailer's length."""
    if representative[-1] == ISO9796_IMPLICIT_SHA1:
        return DigestAlgorithm.SHA1, 1
    named = DigestAlgorithm.from_identifier(representative[-2])
    if representative[-1] == ISO9796_EXPLICIT and named is not None:
        return named, 2
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
        mechanism += f" with {algorithm.label}"
        end = len(representative) - trailer - algorithm.digest_size
        if end < 1:
            raise _InvalidSignatureError(f"the key is too short for {algorithm.label}")
        start = _iso9796_message_start(representative, end)
        recovered = representative[start:end]
        expected = algorithm.digest(recovered + challenge)
        if not hmac.compare_digest(expected, representative[end : end + len(expected)]):
            raise _InvalidSignatureError("the hash does not cover this challenge")
    except _InvalidSignatureError as exc:
        return SignatureVerification(False, mechanism, str(exc))
    return SignatureVerification(True, mechanism, "the signature covers the challenge")


def verify_ecdsa_challenge(
    key: EcPublicKey, challenge: bytes, signature: bytes, signature_algorithm: str | None
) -> SignatureVerification:
    """ECDSA over the challenge, plain ``r || s`` (TR-03111 §5.2.1) or DER (X9.62).

    The hash comes from ``signature_algorithm`` (ActiveAuthenticationInfo, ICAO 9303-11
    §9.2); :class:`UnsupportedProtocolError` when it is missing or names no ECDSA.
    """
    if signature_algorithm is None:
        raise UnsupportedProtocolError("an ECDSA key, but DG14 names no signature algorithm")
    named = SIGNATURE_ALGORITHMS.get(signature_algorithm)
    if named is None or not named.scheme.is_ecdsa or named.digest is None:
        raise UnsupportedProtocolError(f"signature algorithm {signature_algorithm}")
    digest = named.digest
    mechanism = f"ECDSA on {key.curve.name} with {digest.label}"
    forms = [
        (form, values)
        for form, values in (
            ("plain", ecdsa_plain_values(key, signature)),
            ("DER", ecdsa_der_values(signature)),
        )
        if values is not None
    ]
    if not forms:
        return SignatureVerification(
            False, mechanism, f"{len(signature)} bytes are neither plain r||s nor DER"
        )
    for form, values in forms:
        if verify_ecdsa(key, digest, challenge, values):
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
    return verify_ecdsa_challenge(key, challenge, signature, signature_algorithm)
