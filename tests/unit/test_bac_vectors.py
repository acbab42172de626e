"""ICAO 9303-11 Appendix D: BAC keys, handshake and session keys, byte for byte."""

from __future__ import annotations

import pytest

from cardreader.access.bac import BacKeys, key_seed, perform_bac, session_from_exchange
from cardreader.errors import AccessDeniedError
from cardreader.mrz import bac_information
from tests.vectors import h, icao9303_part11

V = icao9303_part11()["bac_appendix_d"]


class ScriptedCard:
    """Answers each command with the next scripted response and records the commands."""

    supports_extended_length = False

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = responses
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.responses.pop(0)


def test_mrz_information_and_key_seed() -> None:
    info = bac_information(V["document_number"], V["date_of_birth"], V["date_of_expiry"])
    assert info == V["mrz_information"]
    assert key_seed(info) == h(V["k_seed"])


def test_basic_access_keys() -> None:
    keys = BacKeys.from_mrz_information(V["mrz_information"])
    assert keys.k_enc == h(V["k_enc"])
    assert keys.k_mac == h(V["k_mac"])


def test_handshake_apdus_and_session_keys() -> None:
    card = ScriptedCard([h(V["get_challenge_response"]), h(V["mutual_authenticate_response"])])
    randoms = [h(V["rnd_ifd"]), h(V["k_ifd"])]
    keys = BacKeys.from_mrz_information(V["mrz_information"])
    result = perform_bac(card, keys, lambda n: randoms.pop(0))
    assert card.commands == [h(V["get_challenge_apdu"]), h(V["mutual_authenticate_apdu"])]
    assert result.ks_enc == h(V["ks_enc"])
    assert result.ks_mac == h(V["ks_mac"])
    assert result.ssc == int(V["ssc"], 16)


def test_wrong_keys_are_refused_with_access_denied() -> None:
    card = ScriptedCard([h(V["get_challenge_response"]), bytes.fromhex("6300")])
    keys = BacKeys.from_mrz_information("L898902C<369080619406247")
    with pytest.raises(AccessDeniedError) as info:
        perform_bac(card, keys)
    assert info.value.method == "BAC"


def test_tampered_chip_answer_fails_mac_check() -> None:
    keys = BacKeys.from_mrz_information(V["mrz_information"])
    response = bytearray(h(V["mutual_authenticate_response"])[:-2])
    response[0] ^= 1
    with pytest.raises(AccessDeniedError, match="MAC"):
        session_from_exchange(keys, h(V["rnd_ifd"]), h(V["k_ifd"]), h(V["rnd_ic"]), bytes(response))


def test_chip_echoing_a_wrong_nonce_is_refused() -> None:
    keys = BacKeys.from_mrz_information(V["mrz_information"])
    response = h(V["mutual_authenticate_response"])[:-2]
    with pytest.raises(AccessDeniedError, match="nonces"):
        session_from_exchange(keys, bytes(8), h(V["k_ifd"]), h(V["rnd_ic"]), response)
