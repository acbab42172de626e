"""Secure messaging: ICAO 9303-11 Appendix D.4 exchanges byte for byte, AES, failures."""

from __future__ import annotations

import pytest

from cardreader.access.secure_messaging import (
    SecureMessagingSession,
    SecureMessagingTransport,
    protect_command,
    unprotect_response,
)
from cardreader.crypto.cipher import pad
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import SecureMessagingError
from cardreader.iso7816.apdu import CommandApdu, ResponseApdu
from tests.vectors import h, icao9303_part11

V = icao9303_part11()["secure_messaging_3des_appendix_d4"]


class Replay:
    supports_extended_length = True

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = responses
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.responses.pop(0)


def _channel(responses: list[bytes]) -> tuple[SecureMessagingTransport, Replay]:
    inner = Replay(responses)
    channel = SecureMessagingTransport(
        inner, KeyAlgorithm.TDES, h(V["ks_enc"]), h(V["ks_mac"]), int(V["initial_ssc"], 16)
    )
    return channel, inner


def test_three_exchanges_byte_for_byte() -> None:
    exchanges = V["exchanges"]
    channel, inner = _channel([h(e["protected_response"]) for e in exchanges])
    data = b""
    for exchange in exchanges:
        plain = channel.transmit(h(exchange["plain_command"]))
        assert plain == h(exchange["plain_response_data"]) + b"\x90\x00"
        data += plain[:-2]
    assert inner.commands == [h(e["protected_command"]) for e in exchanges]
    assert data == h(V["ef_com"])[: len(data)]
    assert channel.session.ssc == int(V["initial_ssc"], 16) + 6


def test_bad_response_mac_closes_the_channel() -> None:
    response = bytearray(h(V["exchanges"][0]["protected_response"]))
    response[-3] ^= 0x01
    channel, _ = _channel([bytes(response)])
    with pytest.raises(SecureMessagingError, match="MAC"):
        channel.transmit(h(V["exchanges"][0]["plain_command"]))
    assert channel.closed
    with pytest.raises(SecureMessagingError, match="closed"):
        channel.transmit(h(V["exchanges"][1]["plain_command"]))


def test_plain_error_status_without_sm_objects_is_an_sm_failure() -> None:
    channel, _ = _channel([bytes.fromhex("6988")])
    with pytest.raises(SecureMessagingError, match="6988"):
        channel.transmit(h(V["exchanges"][0]["plain_command"]))
    assert channel.closed


def test_out_of_step_ssc_is_detected() -> None:
    """A response computed for the next SSC (a replay or a skipped step) fails the MAC."""
    exchanges = V["exchanges"]
    channel, _ = _channel([h(exchanges[1]["protected_response"])])
    with pytest.raises(SecureMessagingError):
        channel.transmit(h(exchanges[0]["plain_command"]))


@pytest.mark.parametrize("alg", [KeyAlgorithm.AES_128, KeyAlgorithm.AES_192, KeyAlgorithm.AES_256])
def test_aes_round_trip_with_extended_length(alg: KeyAlgorithm) -> None:
    """AES SM: the card side (a second session with the same keys) reads what we sent."""
    ks_enc, ks_mac = bytes(range(alg.key_length)), bytes(range(1, alg.key_length + 1))
    terminal = SecureMessagingSession(alg, ks_enc, ks_mac, ssc=0)
    chip = SecureMessagingSession(alg, ks_enc, ks_mac, ssc=0)
    command = CommandApdu(0x00, 0xB1, 0x00, 0x00, bytes.fromhex("54028000"), ne=1000)
    protected = protect_command(terminal, command)
    encoded = protected.encode()
    assert encoded[:4] == bytes.fromhex("0CB10000")
    assert encoded[4] == 0 and encoded[-2:] == b"\x00\x00"  # extended Lc and Le
    chip.increment()
    assert chip.mac(_mac_input(protected)) == protected.data[-8:]
    # The chip answers with 1000 bytes in DO87, DO99 and DO8E.
    chip.increment()
    payload = bytes(i % 251 for i in range(1000))
    do87 = b"\x87\x82" + (len(chip.encrypt(payload)) + 1).to_bytes(2, "big")
    do87 += b"\x01" + chip.encrypt(payload)
    do99 = bytes.fromhex("99029000")
    reply = do87 + do99 + b"\x8e\x08" + chip.mac(do87 + do99)
    result = unprotect_response(terminal, ResponseApdu(reply, 0x9000))
    assert result == ResponseApdu(payload, 0x9000)


def _mac_input(protected: CommandApdu) -> bytes:
    """Padded header and every data object before DO8E (its 10 bytes end the data)."""
    header = pad(bytes((protected.cla, protected.ins, protected.p1, protected.p2)), 16)
    return header + protected.data[:-10]
