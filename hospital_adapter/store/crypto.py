"""Keys of the store: AES-GCM for personal fields, keyed HMAC for pseudonyms and the
audit chain (docs/domain.md §4.6: keep a keyed hash, never the ID number, in logs).

Five keys are derived from one 32-byte master key with HKDF-SHA256 (RFC 5869), so a
leaked pseudonym key does not decrypt anything.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hospital_adapter.errors import StoreError

_VERSION = b"\x01"
_NONCE_BYTES = 12


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"cccd-hospital/" + purpose).derive(master)


class StoreCrypto:
    """Seals personal fields and computes keyed hashes; see the module docstring."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(_derive(master_key, b"fields/aes-gcm"))
        self._pseudonym_key = _derive(master_key, b"pseudonym/hmac-sha256")
        self._chain_key = _derive(master_key, b"audit-chain/hmac-sha256")
        self._checkpoint_key = _derive(master_key, b"audit-checkpoint/hmac-sha256")
        self._key_check = hmac.new(
            _derive(master_key, b"key-check/hmac-sha256"), b"cccd-hospital store", hashlib.sha256
        ).hexdigest()

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """``version || nonce || AES-256-GCM(plaintext)``, bound to ``context`` (the row)."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, blob: bytes, context: bytes) -> bytes:
        """Decrypt :meth:`seal`'s output; :class:`StoreError` if it was altered or moved."""
        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
            raise StoreError("sealed field is malformed")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], context)
        except InvalidTag:
            raise StoreError("sealed field fails authentication (wrong key or altered)") from None

    @property
    def key_check(self) -> str:
        """A value only this master key gives (HMAC of a constant): tells a wrong key from
        tampering."""
        return self._key_check

    def pseudonym(self, id_number: str) -> str:
        """HMAC-SHA256 of the ID number, hex: links one person's entries, reveals nothing."""
        return hmac.new(self._pseudonym_key, id_number.encode(), hashlib.sha256).hexdigest()

    def chain_mac(self, data: bytes) -> str:
        """HMAC-SHA256 used to chain audit entries (only the key holder can extend the chain)."""
        return hmac.new(self._chain_key, data, hashlib.sha256).hexdigest()

    def checkpoint_mac(self, data: bytes) -> str:
        """HMAC-SHA256 of the audit checkpoint (count and head of the chain)."""
        return hmac.new(self._checkpoint_key, data, hashlib.sha256).hexdigest()
