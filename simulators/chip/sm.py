"""The chip's side of secure messaging (ICAO 9303-11 §9.8): unwrap commands, wrap responses.

Written from the card's point of view, independently of the reader's wrapper; only the
spec-pinned primitives (ciphers, MACs, padding) are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardreader.crypto.cipher import (
    BlockCipher,
    decrypt_cbc,
    encrypt_block,
    encrypt_cbc,
    mac,
    pad,
    unpad,
)
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu


class SmViolationError(Exception):
    """The command broke secure messaging: the chip drops its session keys."""


@dataclass
class ChipSmSession:
    """Session keys and send sequence counter as the chip keeps them."""

    alg: KeyAlgorithm
    ks_enc: bytes
    ks_mac: bytes
    ssc: int

    def _step(self) -> bytes:
        size = self.alg.cipher.block_size
        self.ssc = (self.ssc + 1) % (1 << (8 * size))
        return self.ssc.to_bytes(size, "big")

    def _iv(self, ssc: bytes) -> bytes:
        if self.alg.cipher is BlockCipher.TDES:
            return bytes(8)
        return encrypt_block(BlockCipher.AES, self.ks_enc, ssc)

    def unwrap(self, command: CommandApdu) -> CommandApdu:
        """Check the MAC, decrypt the data, return the plain command (§9.8.4)."""
        ssc = self._step()
        try:
            objects = tlv.decode_all(command.data, max_elements=4)
        except ParseError as exc:
            raise SmViolationError(f"malformed SM command: {exc}") from exc
        if not objects or objects[-1].tag != 0x8E:
            raise SmViolationError("no MAC object at the end of the command")
        block = self.alg.cipher.block_size
        header = pad(bytes((command.cla, command.ins, command.p1, command.p2)), block)
        covered = b"".join(obj.encode() for obj in objects[:-1])
        if mac(self.alg.cipher, self.ks_mac, ssc + header + covered) != objects[-1].value:
            raise SmViolationError("command MAC does not verify")
        data = b""
        ne: int | None = None
        for obj in objects[:-1]:
            if obj.tag == 0x87:
                if obj.value[:1] != b"\x01":
                    raise SmViolationError("DO87 without padding indicator")
                data = self._decrypt(obj.value[1:], ssc)
            elif obj.tag == 0x85:
                data = self._decrypt(obj.value, ssc)
            elif obj.tag == 0x97:
                ne = int.from_bytes(obj.value, "big") or (256 if len(obj.value) == 1 else 65536)
            else:
                raise SmViolationError(f"unexpected SM data object {obj.tag:X}")
        return CommandApdu(
            command.cla & ~0x0C & 0xFF, command.ins, command.p1, command.p2, data, ne
        )

    def _decrypt(self, cryptogram: bytes, ssc: bytes) -> bytes:
        try:
            return unpad(decrypt_cbc(self.alg.cipher, self.ks_enc, cryptogram, self._iv(ssc)))
        except ParseError as exc:
            raise SmViolationError(f"bad cryptogram: {exc}") from exc

    def wrap(self, data: bytes, sw: int, odd_ins: bool = False) -> bytes:
        """Protect a response: DO87/85, DO99 and DO8E over SSC (§9.8.5)."""
        ssc = self._step()
        body = b""
        if data:
            block = self.alg.cipher.block_size
            cryptogram = encrypt_cbc(self.alg.cipher, self.ks_enc, pad(data, block), self._iv(ssc))
            body += (
                tlv.encode(0x85, cryptogram) if odd_ins else tlv.encode(0x87, b"\x01" + cryptogram)
            )
        body += tlv.encode(0x99, sw.to_bytes(2, "big"))
        body += tlv.encode(0x8E, mac(self.alg.cipher, self.ks_mac, ssc + body))
        return body + sw.to_bytes(2, "big")
