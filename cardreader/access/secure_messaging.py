"""Secure messaging with 3DES or AES as a transport wrapper (ICAO 9303-11 §9.8).

Commands are protected with DO85/87 (cryptogram), DO97 (Le) and DO8E (MAC); responses
must carry DO99 (status) and a DO8E that verifies. Any failure closes the channel for
good, as the chip closes it on its side: the session must be opened again.
"""

from __future__ import annotations

from cardreader.crypto.cipher import (
    MAC_LENGTH,
    BlockCipher,
    ChannelKeys,
    decrypt_cbc,
    encrypt_cbc,
    pad,
    unpad,
)
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import ParseError, SecureMessagingError
from cardreader.iso7816.apdu import (
    EXTENDED_MAX_NE,
    SHORT_MAX_NE,
    Cla,
    CommandApdu,
    ResponseApdu,
)
from cardreader.iso7816.tlv import decode_all, encode, encode_length
from cardreader.log import TRAFFIC, get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)


class SmTag:
    """Secure-messaging data object tags (ISO/IEC 7816-4 §10.2, ICAO 9303-11 §9.8.5)."""

    CRYPTOGRAM_ODD = 0x85
    CRYPTOGRAM = 0x87
    LE = 0x97
    STATUS = 0x99
    MAC = 0x8E


PADDING_INDICATOR = b"\x01"
"""First byte of a DO87 value: the cryptogram is padded with method 2 (§9.8.5)."""


_SECURE_MESSAGING = int(Cla.SECURE_MESSAGING)
_DO99_AND_DO8E = 2 + 2 + 2 + MAC_LENGTH
"""DO99 (two status bytes) and DO8E (the MAC), one-byte tags and lengths."""


def _is_odd(ins: int) -> bool:
    return bool(ins & 1)


class SecureMessagingSession:
    """The keys and send sequence counter of one secure channel (§9.8.6)."""

    def __init__(self, alg: KeyAlgorithm, ks_enc: bytes, ks_mac: bytes, ssc: int = 0) -> None:
        self.alg = alg
        self.ks_enc = ks_enc
        self.ks_mac = ks_mac
        self.ssc = ssc
        self.cipher: BlockCipher = alg.cipher
        self._keys = ChannelKeys(alg.cipher, ks_enc, ks_mac)

    def ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self.cipher.block_size, "big")

    def increment(self) -> None:
        self.ssc = (self.ssc + 1) % (1 << (8 * self.cipher.block_size))

    def iv(self) -> bytes:
        """3DES uses a zero IV; AES uses E(KS_enc, SSC) (§9.8.6.1)."""
        if self.cipher is BlockCipher.TDES:
            return bytes(8)
        return self._keys.encrypt_block(self.ssc_bytes())

    def encrypt(self, data: bytes) -> bytes:
        return encrypt_cbc(self.cipher, self.ks_enc, pad(data, self.cipher.block_size), self.iv())

    def decrypt(self, cryptogram: bytes) -> bytes:
        return unpad(decrypt_cbc(self.cipher, self.ks_enc, cryptogram, self.iv()))

    def mac(self, data: bytes) -> bytes:
        """MAC over SSC || data, padded (§9.8.6.2)."""
        return self._keys.mac(self.ssc_bytes() + data)


def encode_le(ne: int, extended: bool) -> bytes:
    """The Le field in DO97: one byte short, two bytes extended (0 means the maximum)."""
    if extended:
        return (ne % EXTENDED_MAX_NE).to_bytes(2, "big")
    return bytes((ne % SHORT_MAX_NE,))


def protect_command(session: SecureMessagingSession, command: CommandApdu) -> CommandApdu:
    """Wrap a plain command (the SSC is incremented first, §9.8.6)."""
    session.increment()
    cla = command.cla | _SECURE_MESSAGING
    header = pad(bytes((cla, command.ins, command.p1, command.p2)), session.cipher.block_size)
    extended = command.needs_extended
    body = b""
    if command.data:
        cryptogram = session.encrypt(command.data)
        if _is_odd(command.ins):
            body += encode(SmTag.CRYPTOGRAM_ODD, cryptogram)
        else:
            body += encode(SmTag.CRYPTOGRAM, PADDING_INDICATOR + cryptogram)
    if command.ne is not None:
        body += encode(SmTag.LE, encode_le(command.ne, extended))
    body += encode(SmTag.MAC, session.mac(header + body))
    fits_short = protected_response_length(command.ne or 0, session.cipher) <= SHORT_MAX_NE
    ne = SHORT_MAX_NE if fits_short and not extended else EXTENDED_MAX_NE
    return CommandApdu(cla, command.ins, command.p1, command.p2, body, ne)


def protected_response_length(plain: int, cipher: BlockCipher) -> int:
    """Largest protected response to a command expecting ``plain`` bytes (§9.8.5)."""
    if not plain:
        return _DO99_AND_DO8E
    do87_value = (plain // cipher.block_size + 1) * cipher.block_size + 1
    return 1 + len(encode_length(do87_value)) + do87_value + _DO99_AND_DO8E


def unprotect_response(session: SecureMessagingSession, response: ResponseApdu) -> ResponseApdu:
    """Check and unwrap a protected response (the SSC is incremented first, §9.8.6)."""
    session.increment()
    try:
        objects = decode_all(response.data, max_elements=8)
    except ParseError as exc:
        raise SecureMessagingError(f"malformed protected response: {exc}") from exc
    found = {obj.tag: obj for obj in objects}
    if len(found) != len(objects):
        raise SecureMessagingError("duplicate data objects in the protected response")
    mac_obj = found.get(SmTag.MAC)
    status = found.get(SmTag.STATUS)
    if mac_obj is None or status is None:
        raise SecureMessagingError(
            f"the card answered {response.sw:04X} without secure messaging; "
            "the secure channel is closed"
        )
    covered = b"".join(obj.encode() for obj in objects if obj.tag != SmTag.MAC)
    if len(mac_obj.value) != MAC_LENGTH or session.mac(covered) != mac_obj.value:
        raise SecureMessagingError("response MAC does not verify; the secure channel is closed")
    if len(status.value) != 2:
        raise SecureMessagingError("DO99 must hold two status bytes")
    data = b""
    if SmTag.CRYPTOGRAM in found:
        value = found[SmTag.CRYPTOGRAM].value
        if not value.startswith(PADDING_INDICATOR):
            raise SecureMessagingError("DO87 without the padding indicator 01")
        data = session.decrypt(value[1:])
    elif SmTag.CRYPTOGRAM_ODD in found:
        data = session.decrypt(found[SmTag.CRYPTOGRAM_ODD].value)
    return ResponseApdu(data, int.from_bytes(status.value, "big"))


class SecureMessagingTransport:
    """A :class:`Transport` that protects every APDU sent through ``inner``."""

    def __init__(
        self,
        inner: Transport,
        alg: KeyAlgorithm,
        ks_enc: bytes,
        ks_mac: bytes,
        ssc: int = 0,
    ) -> None:
        self.inner = inner
        self.session = SecureMessagingSession(alg, ks_enc, ks_mac, ssc)
        self._closed = False
        self.answered = 0
        """Responses whose MAC verified under these keys (the proof of Chip Authentication)."""

    @property
    def supports_extended_length(self) -> bool:
        return self.inner.supports_extended_length

    @property
    def closed(self) -> bool:
        return self._closed

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise SecureMessagingError("the secure channel is closed; open the card again")
        command = CommandApdu.decode(apdu)
        _log.log(TRAFFIC, "SM plain command %s", apdu.hex())
        protected = protect_command(self.session, command)
        try:
            raw = self.inner.transmit(protected.encode())
            response = unprotect_response(self.session, ResponseApdu.decode(raw))
        except (SecureMessagingError, ParseError) as exc:
            self._closed = True
            if isinstance(exc, SecureMessagingError):
                raise
            raise SecureMessagingError(f"malformed protected response: {exc}") from exc
        except BaseException:
            self._closed = True
            raise
        self.answered += 1
        plain = response.encode()
        _log.log(TRAFFIC, "SM plain response %s", plain.hex())
        return plain
