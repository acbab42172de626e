"""Key derivation function of ICAO 9303-11 §9.7.1 and DES parity adjustment."""

from __future__ import annotations

import enum
import hashlib

from cardreader.crypto.cipher import BlockCipher


class KdfCounter(enum.IntEnum):
    """The 32-bit counter ``c`` of the KDF (ICAO 9303-11 §9.7.1)."""

    ENC = 1
    MAC = 2
    PACE_PASSWORD = 3


class KeyAlgorithm(enum.Enum):
    """A cipher with its key length in bytes, as named by the protocol OIDs."""

    TDES = (BlockCipher.TDES, 16)
    AES_128 = (BlockCipher.AES, 16)
    AES_192 = (BlockCipher.AES, 24)
    AES_256 = (BlockCipher.AES, 32)

    @property
    def cipher(self) -> BlockCipher:
        return self.value[0]

    @property
    def key_length(self) -> int:
        return self.value[1]


def adjust_des_parity(key: bytes) -> bytes:
    """Set the low bit of each byte so that every byte has odd parity (FIPS 46-3)."""
    return bytes((b & 0xFE) | ((bin(b >> 1).count("1") + 1) & 1) for b in key)


def derive_key(secret: bytes, counter: KdfCounter, alg: KeyAlgorithm) -> bytes:
    """KDF(K, c): SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256 (§9.7.1)."""
    data = secret + int(counter).to_bytes(4, "big")
    if alg in (KeyAlgorithm.TDES, KeyAlgorithm.AES_128):
        digest = hashlib.sha1(data).digest()
    else:
        digest = hashlib.sha256(data).digest()
    key = digest[: alg.key_length]
    return adjust_des_parity(key) if alg is KeyAlgorithm.TDES else key
