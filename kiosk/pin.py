"""The staff PIN, stored as a salted scrypt hash (RFC 7914) in a PHC-style string.

``$scrypt$ln=15,r=8,p=1$<salt>$<key>`` (base64 without padding): N = 2**15 and r = 8
take 0.1 s and 32 MiB per try on the 2-core test machine, so trying the 10,000
four-digit PINs against a copied configuration file costs 17 minutes of one core (the
unsalted SHA-256 before: 5 ms), and the random salt makes every file a search of its
own. ``cccd-kiosk --hash-pin`` makes one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

DEFAULT_PIN = "2468"
"""The PIN of the shipped configuration: the kiosk refuses to start with it."""
PIN_LENGTH = (4, 8)
"""Digits in a staff PIN (the staff screen's keypad takes at most 8)."""
LOG2_N, BLOCK_SIZE, PARALLELISM = 15, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MAX_MEMORY = 256 * 1024 * 1024
"""Largest scrypt memory a configured hash may ask for (128 · r · N bytes)."""
HOW_TO = "make one with `cccd-kiosk --hash-pin`"

_FORMAT = re.compile(
    r"\$scrypt\$ln=(?P<ln>[0-9]{1,2}),r=(?P<r>[0-9]{1,2}),p=(?P<p>[0-9])"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,88})\$(?P<key>[A-Za-z0-9+/]{43})"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


@dataclass(frozen=True)
class PinHash:
    """A parsed PIN hash: scrypt's cost parameters, the salt and the derived key."""

    log2_n: int
    block_size: int
    parallelism: int
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, text: str) -> PinHash:
        """Parse ``text``; :class:`ValueError` (without echoing it) if it is not a hash
        this module makes or its cost is out of bounds."""
        found = _FORMAT.fullmatch(text)
        if found is None:
            raise ValueError(f"not a scrypt PIN hash: {HOW_TO}")
        try:
            salt, key = _unb64(found["salt"]), _unb64(found["key"])
        except binascii.Error:
            raise ValueError(f"not a scrypt PIN hash: {HOW_TO}") from None
        parsed = cls(int(found["ln"]), int(found["r"]), int(found["p"]), salt, key)
        if not (14 <= parsed.log2_n <= 20 and parsed.block_size >= 8 and parsed.parallelism >= 1):
            raise ValueError(f"scrypt cost below ln=14, r=8, p=1: {HOW_TO}")
        if parsed._memory > MAX_MEMORY or len(salt) < SALT_BYTES or len(key) != KEY_BYTES:
            raise ValueError(f"scrypt parameters out of bounds: {HOW_TO}")
        return parsed

    @property
    def _memory(self) -> int:
        return 128 * self.block_size * (1 << self.log2_n) * self.parallelism

    def _derive(self, pin: str) -> bytes:
        return hashlib.scrypt(
            pin.encode("utf-8"),
            salt=self.salt,
            n=1 << self.log2_n,
            r=self.block_size,
            p=self.parallelism,
            maxmem=2 * self._memory,
            dklen=len(self.key),
        )

    def matches(self, pin: str) -> bool:
        """Constant-time comparison of ``pin``'s key with the stored one."""
        return hmac.compare_digest(self._derive(pin), self.key)

    def __str__(self) -> str:
        return (
            f"$scrypt$ln={self.log2_n},r={self.block_size},p={self.parallelism}"
            f"${_b64(self.salt)}${_b64(self.key)}"
        )


def check_pin(pin: str) -> str:
    """``pin`` if it is 4 to 8 digits; :class:`ValueError` otherwise."""
    low, high = PIN_LENGTH
    if not (pin.isascii() and pin.isdigit() and low <= len(pin) <= high):
        raise ValueError(f"a staff PIN is {low} to {high} digits")
    return pin


def hash_pin(pin: str) -> str:
    """A new hash of ``pin`` with a random salt."""
    salted = PinHash(LOG2_N, BLOCK_SIZE, PARALLELISM, os.urandom(SALT_BYTES), b"\0" * KEY_BYTES)
    key = salted._derive(check_pin(pin))
    return str(PinHash(LOG2_N, BLOCK_SIZE, PARALLELISM, salted.salt, key))
