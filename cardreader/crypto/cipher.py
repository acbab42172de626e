"""Block ciphers, padding and MACs of ICAO 9303-11 secure messaging (§9.8, §9.7.1).

3DES is two-key 3DES in CBC mode with the ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC");
AES is CBC with AES-CMAC truncated to 8 bytes.
"""

from __future__ import annotations

import enum
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cardreader.errors import ParseError

MAC_LENGTH = 8
"""Length of every secure-messaging MAC and authentication token (ICAO 9303-11 §9.8.3)."""


class BlockCipher(enum.Enum):
    """The block cipher families of secure messaging, with their block size."""

    TDES = 8
    AES = 16

    @property
    def block_size(self) -> int:
        return self.value


def _tdes_key(key: bytes) -> bytes:
    """Expand a 16-byte two-key (or 8-byte single) DES key to the 24-byte form."""
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ValueError(f"a DES key has 8, 16 or 24 bytes, not {len(key)}")


def _cipher(alg: BlockCipher, key: bytes, mode: modes.CBC | modes.ECB) -> Cipher[Any]:
    if alg is BlockCipher.TDES:
        return Cipher(TripleDES(_tdes_key(key)), mode)
    return Cipher(algorithms.AES(key), mode)


def encrypt_cbc(alg: BlockCipher, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC-encrypt block-aligned ``data`` (IV of zeros unless given)."""
    enc = _cipher(alg, key, modes.CBC(iv or bytes(alg.block_size))).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_cbc(alg: BlockCipher, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC-decrypt block-aligned ``data`` (IV of zeros unless given)."""
    if len(data) % alg.block_size:
        raise ParseError(f"ciphertext of {len(data)} bytes is not a multiple of the block size")
    dec = _cipher(alg, key, modes.CBC(iv or bytes(alg.block_size))).decryptor()
    return dec.update(data) + dec.finalize()


def encrypt_block(alg: BlockCipher, key: bytes, block: bytes) -> bytes:
    """Encrypt one block in ECB mode (used for the AES secure-messaging IV, §9.8.6.1)."""
    enc = _cipher(alg, key, modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def pad(data: bytes, block_size: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 0x80, then zeros to a block boundary."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block_size)


def unpad(data: bytes) -> bytes:
    """Remove ISO/IEC 9797-1 padding method 2; raise :class:`ParseError` if absent."""
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise ParseError("padding method 2 marker 0x80 not found")
    return stripped[:-1]


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES over padded ``data`` (ICAO 9303-11 §9.8.3)."""
    if len(key) != 16:
        raise ValueError("the retail MAC needs a 16-byte two-key 3DES key")
    message = pad(data, 8)
    chained = encrypt_cbc(BlockCipher.TDES, key[:8], message)[-8:]
    stage = decrypt_cbc(BlockCipher.TDES, key[8:], chained)
    return encrypt_cbc(BlockCipher.TDES, key[:8], stage)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B) truncated to 8 bytes (ICAO 9303-11 §9.8.6.2)."""
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()[:MAC_LENGTH]


def mac(alg: BlockCipher, key: bytes, data: bytes) -> bytes:
    """The secure-messaging MAC of ``alg``; for 3DES ``data`` is padded here, for AES too."""
    if alg is BlockCipher.TDES:
        return retail_mac(key, data)
    return aes_cmac(key, pad(data, alg.block_size))


class ChannelKeys:
    """:func:`encrypt_block` and :func:`mac` under one secure channel's keys, the AES
    cipher and CMAC keyed once for the channel and reused for every APDU (issue #16)."""

    def __init__(self, alg: BlockCipher, enc_key: bytes, mac_key: bytes) -> None:
        self._alg = alg
        self._mac_key = mac_key
        aes = alg is BlockCipher.AES
        self._ecb = _cipher(alg, enc_key, modes.ECB()).encryptor()
        self._cmac = cmac.CMAC(algorithms.AES(mac_key)) if aes else None

    def encrypt_block(self, block: bytes) -> bytes:
        """One block encrypted with the encryption key in ECB mode."""
        return self._ecb.update(block)

    def mac(self, data: bytes) -> bytes:
        """:func:`mac` with the MAC key."""
        if self._cmac is None:
            return mac(self._alg, self._mac_key, data)
        keyed = self._cmac.copy()
        keyed.update(pad(data, self._alg.block_size))
        return keyed.finalize()[:MAC_LENGTH]
