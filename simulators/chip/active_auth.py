"""The chip's half of Active Authentication (ICAO 9303-11 §6.1).

INTERNAL AUTHENTICATE carries the terminal's 8-byte challenge; the chip signs it with its
DG15 private key: RSA with ISO/IEC 9796-2 digital signature scheme 1 (``M = M1 || challenge``
with a random M1 filling the recoverable capacity, trailer ``BC`` or ``hash-id CC``) or
ECDSA, plain ``r || s`` (BSI TR-03111 §5.2.1) or DER. The encoding is this module's own;
only the RSA private operation and ECDSA signing come from ``cryptography``.

Faults make a clone: ``WRONG_KEY`` signs with another key, ``REPLAY`` returns a signature
over an old challenge instead of the one it was sent.
"""

from __future__ import annotations

import enum
import hashlib
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from cardreader.crypto.pace_mapping import RandomSource
from cardreader.iso7816.apdu import CommandApdu

CHALLENGE_LENGTH = 8
PARTIAL_RECOVERY_NO_PADDING = 0x6A
"""First octet of F: header 01, more-data bit 1, padding field ended at once (nibble A)."""


class Sw(enum.IntEnum):
    """Status words of INTERNAL AUTHENTICATE."""

    OK = 0x9000
    WRONG_LENGTH = 0x6700
    WRONG_P1P2 = 0x6B00


class RsaTrailer(enum.Enum):
    """The 9796-2 trailer and hash: ``(hashlib name, trailer bytes)`` (ISO/IEC 10118-3 ids)."""

    SHA1_IMPLICIT = ("sha1", b"\xbc")
    SHA1 = ("sha1", b"\x33\xcc")
    SHA224 = ("sha224", b"\x38\xcc")
    SHA256 = ("sha256", b"\x34\xcc")
    SHA384 = ("sha384", b"\x36\xcc")
    SHA512 = ("sha512", b"\x35\xcc")


class EcdsaForm(enum.Enum):
    PLAIN = "plain"
    DER = "DER"


class Fault(enum.Enum):
    """How this chip misbehaves, to show that the reader notices."""

    NONE = "none"
    WRONG_KEY = "wrong key"
    """A clone: the DG15 public key, but another private key."""
    REPLAY = "replay"
    """A clone replaying a signature recorded for another challenge."""


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class ActiveAuthentication:
    """Signs INTERNAL AUTHENTICATE challenges with the chip's Active Authentication key."""

    def __init__(
        self,
        key: SigningKey,
        *,
        rsa_trailer: RsaTrailer = RsaTrailer.SHA1_IMPLICIT,
        ecdsa_hash: type[hashes.HashAlgorithm] = hashes.SHA256,
        ecdsa_form: EcdsaForm = EcdsaForm.PLAIN,
        fault: Fault = Fault.NONE,
        rng: RandomSource = secrets,
    ) -> None:
        self.rsa_trailer = rsa_trailer
        self.ecdsa_hash = ecdsa_hash
        self.ecdsa_form = ecdsa_form
        self.fault = fault
        self._rng = rng
        self._key = _other_key(key) if fault is Fault.WRONG_KEY else key
        self.challenges: list[bytes] = []

    def respond(self, command: CommandApdu) -> tuple[bytes, int]:
        """Answer INTERNAL AUTHENTICATE (00 88 00 00 with the challenge)."""
        if (command.p1, command.p2) != (0, 0):
            return b"", Sw.WRONG_P1P2
        if len(command.data) != CHALLENGE_LENGTH:
            return b"", Sw.WRONG_LENGTH
        self.challenges.append(command.data)
        challenge = bytes(CHALLENGE_LENGTH) if self.fault is Fault.REPLAY else command.data
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._sign_iso9796_2(self._key, challenge), Sw.OK
        return self._sign_ecdsa(self._key, challenge), Sw.OK

    def _sign_iso9796_2(self, key: rsa.RSAPrivateKey, challenge: bytes) -> bytes:
        """``F = 6A || M1 || H(M1 || challenge) || trailer``, signed as ``F^d mod n``."""
        numbers = key.private_numbers()
        n = numbers.public_numbers.n
        size = (n.bit_length() + 7) // 8
        name, trailer = self.rsa_trailer.value
        digest_size = hashlib.new(name).digest_size
        m1 = self._rng.token_bytes(size - 1 - digest_size - len(trailer))
        representative = (
            bytes((PARTIAL_RECOVERY_NO_PADDING,))
            + m1
            + hashlib.new(name, m1 + challenge).digest()
            + trailer
        )
        return pow(int.from_bytes(representative, "big"), numbers.d, n).to_bytes(size, "big")

    def _sign_ecdsa(self, key: ec.EllipticCurvePrivateKey, challenge: bytes) -> bytes:
        der = key.sign(challenge, ec.ECDSA(self.ecdsa_hash()))
        if self.ecdsa_form is EcdsaForm.DER:
            return der
        r, s = decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _other_key(key: SigningKey) -> SigningKey:
    if isinstance(key, rsa.RSAPrivateKey):
        exponent = key.private_numbers().public_numbers.e
        return rsa.generate_private_key(exponent, key.key_size)
    return ec.generate_private_key(key.curve)
