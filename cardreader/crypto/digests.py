"""The hash functions of eMRTD signatures, one table for passive and active authentication.

Each is named by its OID in AlgorithmIdentifiers (RFC 3279 §2.2, RFC 4055 §2.1; the set
ICAO 9303-12 §4.4.2 allows) and by its ISO/IEC 10118-3 hash-function identifier in ISO/IEC
9796-2 trailers (Active Authentication, ICAO 9303-11 §6.1.2).
"""

from __future__ import annotations

import enum
import hashlib

from cryptography.hazmat.primitives import hashes

from cardreader.errors import UnsupportedProtocolError


class DigestAlgorithm(enum.Enum):
    """(OID, hashlib name, ISO/IEC 10118-3 identifier, ``cryptography`` class)."""

    SHA1 = ("1.3.14.3.2.26", "sha1", 0x33, hashes.SHA1)
    SHA224 = ("2.16.840.1.101.3.4.2.4", "sha224", 0x38, hashes.SHA224)
    SHA256 = ("2.16.840.1.101.3.4.2.1", "sha256", 0x34, hashes.SHA256)
    SHA384 = ("2.16.840.1.101.3.4.2.2", "sha384", 0x36, hashes.SHA384)
    SHA512 = ("2.16.840.1.101.3.4.2.3", "sha512", 0x35, hashes.SHA512)

    def __init__(
        self, oid: str, hashlib_name: str, identifier: int, backend: type[hashes.HashAlgorithm]
    ) -> None:
        self.oid = oid
        self.hashlib_name = hashlib_name
        self.identifier = identifier
        """The hash-function identifier of ISO/IEC 10118-3 used in 9796-2 trailers."""
        self.backend = backend

    @property
    def label(self) -> str:
        """Human name, e.g. ``SHA-256``."""
        return self.name.replace("SHA", "SHA-")

    @property
    def digest_size(self) -> int:
        return hashlib.new(self.hashlib_name).digest_size

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.hashlib_name, data).digest()

    def cryptography_hash(self) -> hashes.HashAlgorithm:
        return self.backend()

    @classmethod
    def from_oid(cls, oid: str) -> DigestAlgorithm:
        for algorithm in cls:
            if algorithm.oid == oid:
                return algorithm
        raise UnsupportedProtocolError(f"hash algorithm {oid} is not supported")

    @classmethod
    def from_identifier(cls, identifier: int) -> DigestAlgorithm | None:
        """The hash of an ISO/IEC 10118-3 identifier, or None."""
        return next((algorithm for algorithm in cls if algorithm.identifier == identifier), None)
