"""Basic Access Control (ICAO 9303-11 §4.3, worked example in Appendix D)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cardreader.crypto.cipher import BlockCipher, decrypt_cbc, encrypt_cbc, retail_mac
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.errors import AccessDeniedError, StatusWordError
from cardreader.iso7816.apdu import CommandApdu, Ins, send
from cardreader.log import get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)

NONCE_LENGTH = 8
KEY_MATERIAL_LENGTH = 16
_CRYPTOGRAM_LENGTH = 2 * NONCE_LENGTH + KEY_MATERIAL_LENGTH
_RESPONSE_LENGTH = _CRYPTOGRAM_LENGTH + 8

RandomSource = Callable[[int], bytes]


def key_seed(mrz_information: str) -> bytes:
    """K_seed: the first 16 bytes of SHA-1 over the MRZ information (§9.7.2)."""
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]


@dataclass(frozen=True, slots=True)
class BacKeys:
    """The document basic access keys K_enc and K_mac (§9.7.2)."""

    k_enc: bytes
    k_mac: bytes

    @classmethod
    def from_mrz_information(cls, mrz_information: str) -> BacKeys:
        seed = key_seed(mrz_information)
        return cls(
            derive_key(seed, KdfCounter.ENC, KeyAlgorithm.TDES),
            derive_key(seed, KdfCounter.MAC, KeyAlgorithm.TDES),
        )


@dataclass(frozen=True, slots=True)
class BacResult:
    """Session keys and the initial send sequence counter after BAC (§9.7.2, §9.8.6.3)."""

    ks_enc: bytes
    ks_mac: bytes
    ssc: int


def session_from_exchange(
    keys: BacKeys, rnd_ifd: bytes, k_ifd: bytes, rnd_ic: bytes, response: bytes
) -> BacResult:
    """Check the chip's MUTUAL AUTHENTICATE answer and derive the session keys (§4.3.3)."""
    if len(response) != _RESPONSE_LENGTH:
        raise AccessDeniedError("BAC", f"the chip answered {len(response)} bytes, not 40")
    cryptogram, chip_mac = response[:_CRYPTOGRAM_LENGTH], response[_CRYPTOGRAM_LENGTH:]
    if retail_mac(keys.k_mac, cryptogram) != chip_mac:
        raise AccessDeniedError("BAC", "the chip's cryptogram MAC does not verify")
    plain = decrypt_cbc(BlockCipher.TDES, keys.k_enc, cryptogram)
    if plain[:8] != rnd_ic or plain[8:16] != rnd_ifd:
        raise AccessDeniedError("BAC", "the chip did not return the expected nonces")
    k_ic = plain[16:32]
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return BacResult(
        ks_enc=derive_key(seed, KdfCounter.ENC, KeyAlgorithm.TDES),
        ks_mac=derive_key(seed, KdfCounter.MAC, KeyAlgorithm.TDES),
        ssc=int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"),
    )


def terminal_cryptogram(keys: BacKeys, rnd_ifd: bytes, rnd_ic: bytes, k_ifd: bytes) -> bytes:
    """E_IFD || M_IFD, the data of MUTUAL AUTHENTICATE (§4.3.3.1)."""
    e_ifd = encrypt_cbc(BlockCipher.TDES, keys.k_enc, rnd_ifd + rnd_ic + k_ifd)
    return e_ifd + retail_mac(keys.k_mac, e_ifd)


def perform_bac(
    transport: Transport, keys: BacKeys, random: RandomSource = secrets.token_bytes
) -> BacResult:
    """Run GET CHALLENGE and MUTUAL AUTHENTICATE; raise :class:`AccessDeniedError` on failure."""
    _log.debug("BAC: requesting a challenge")
    try:
        rnd_ic = send(transport, CommandApdu(0x00, Ins.GET_CHALLENGE, 0, 0, ne=NONCE_LENGTH)).data
    except StatusWordError as exc:
        raise AccessDeniedError("BAC", f"GET CHALLENGE refused ({exc.sw:04X})") from exc
    if len(rnd_ic) != NONCE_LENGTH:
        raise AccessDeniedError("BAC", f"challenge of {len(rnd_ic)} bytes, not 8")
    rnd_ifd = random(NONCE_LENGTH)
    k_ifd = random(KEY_MATERIAL_LENGTH)
    data = terminal_cryptogram(keys, rnd_ifd, rnd_ic, k_ifd)
    command = CommandApdu(0x00, Ins.MUTUAL_AUTHENTICATE, 0, 0, data, ne=_RESPONSE_LENGTH)
    try:
        response = send(transport, command).data
    except StatusWordError as exc:
        raise AccessDeniedError(
            "BAC", f"the chip refused the keys ({exc.sw:04X}): check the MRZ data"
        ) from exc
    result = session_from_exchange(keys, rnd_ifd, k_ifd, rnd_ic, response)
    _log.debug("BAC: session established")
    return result
