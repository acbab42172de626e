"""Chip Authentication end to end: cardreader.access.chip_auth against the chip simulator.

The BSI TR-03105-5 reference data set (tests/vectors/bsi-tr03105-5) drives the main
case: its DG14 key (explicit brainpoolP224r1, id-CA-ECDH-3DES-CBC-CBC) with the private
key of DG14_sk.pkcs8 inside a simulated chip opened by BAC with the MRZ of its DG1. The
other cases use keys generated here for ECDH and DH and every CA cipher.
"""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardreader.access.chip_auth import (
    check_pace_chip_authentication,
    perform_chip_authentication,
)
from cardreader.access.chip_auth_info import CA_PROTOCOLS, ChipSecurityInfos, parse_dg14
from cardreader.access.credentials import Credentials, MrzKey
from cardreader.access.pace import PacePassword, perform_pace
from cardreader.access.pace_info import PACE_PROTOCOLS, PaceInfo
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.access.strategy import CardSession, open_session
from cardreader.crypto.domain_params import StandardizedDomainParameter as Std
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import CardError, FileNotFoundOnCardError, SecureMessagingError
from cardreader.files.ids import Ef
from cardreader.files.reader import FileReader, select_file
from cardreader.iso7816 import tlv
from cardreader.mrz import parse_mrz
from cardreader.verify.report import Check, CheckKind, CheckStatus
from simulators.chip.active_auth import ActiveAuthentication
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.chip.chip_auth import ChipAuthentication, ChipAuthenticationKey, Fault
from simulators.chip.pace import ChipPace, Offer
from simulators.chip.sample import SampleCard, sample_files
from simulators.inprocess import InProcessTransport
from tests.unit.test_dg14_dg15 import (
    ca_info,
    curve,
    dg14,
    dh_group,
    integer,
    named_ec_spki,
    pk_info,
    standardized_spki,
    x942_spki,
)
from tests.vectors import BSI_DATASET

ID_CA_ECDH_3DES = "0.4.0.127.0.7.2.2.3.2.1"
ID_CA_ECDH_AES_128 = "0.4.0.127.0.7.2.2.3.2.2"
ID_PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
ID_PACE_ECDH_CAM_AES_128 = "0.4.0.127.0.7.2.2.4.6.2"

BSI_FILES = {
    0x011E: "EF_COM.bin",
    0x0101: "Datagroup1.bin",
    0x0102: "Datagroup2.bin",
    0x0103: "Datagroup3.bin",
    0x0104: "Datagroup4.bin",
    0x010E: "Datagroup14.bin",
    0x010F: "Datagroup15.bin",
    0x011D: "EF_SOD.bin",
}
"""The BSI data set as the chip's files (no EF.CardAccess: the specimen has BAC only)."""


def bsi_file(fid: int) -> bytes:
    return (BSI_DATASET / BSI_FILES[fid]).read_bytes()


def bsi_mrz_key() -> MrzKey:
    """Document number, birth and expiry dates from the BSI DG1 (TD3 MRZ in 5F1F)."""
    mrz = tlv.decode_single(bsi_file(0x0101)).require(0x5F1F).value.decode("ascii")
    parsed = parse_mrz(mrz)
    assert parsed.valid
    assert (parsed.document_number, parsed.date_of_birth, parsed.date_of_expiry) == (
        "C11T002JM",
        "960812",
        "231031",
    )
    return MrzKey.from_mrz(parsed)


def bsi_chip(
    *, ca_fault: Fault = Fault.NONE, active_authentication: ActiveAuthentication | None = None
) -> EmrtdChip:
    """The BSI specimen in a simulated chip, with its CA key (and an AA responder if given)."""
    key = ChipAuthenticationKey.from_pkcs8((BSI_DATASET / "DG14_sk.pkcs8").read_bytes())
    config = ChipConfig(
        files={fid: bsi_file(fid) for fid in BSI_FILES},
        mrz_information=bsi_mrz_key().mrz_information,
    )
    return EmrtdChip(
        config,
        chip_authentication=ChipAuthentication(key, ID_CA_ECDH_3DES, fault=ca_fault),
        active_authentication=active_authentication,
    )


class SeededRandom:
    """A reproducible :class:`RandomSource` for tests."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, nbytes: int) -> bytes:
        return self._random.randbytes(nbytes)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self._random.randrange(exclusive_upper_bound)


class Link:
    """A transport to the chip that records raw APDUs and can tamper with one response."""

    def __init__(self, chip: EmrtdChip, *, extended: bool = True) -> None:
        self.inner = InProcessTransport(chip, extended)
        self.responses = 0
        self.tamper_at: int | None = None
        self.tamper: tuple[str, int, int] = ("flip", 0, 1)
        self.tampered_status_word = False
        """Whether the tampering hit only the outer SW1-SW2, which SM does not protect."""

    @property
    def supports_extended_length(self) -> bool:
        return self.inner.supports_extended_length

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        self.responses += 1
        if self.responses != self.tamper_at:
            return response
        mode, position, value = self.tamper
        position %= len(response)
        self.tampered_status_word = mode == "flip" and position >= len(response) - 2
        if mode == "truncate":
            return response[:position]
        return response[:position] + bytes((response[position] ^ value,)) + response[position + 1 :]


class Recorder(SecureMessagingTransport):
    """The secure channel of a session, recording the plain command APDUs."""

    def __init__(self, channel: SecureMessagingTransport) -> None:
        session = channel.session
        super().__init__(channel.inner, session.alg, session.ks_enc, session.ks_mac, session.ssc)
        self.plain: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.plain.append(apdu)
        return super().transmit(apdu)


def open_bsi(chip: EmrtdChip, link: Link | None = None) -> tuple[CardSession, ChipSecurityInfos]:
    session = open_session(link or InProcessTransport(chip), Credentials(mrz_keys=(bsi_mrz_key(),)))
    assert session.access.method.value == "BAC"
    return session, parse_dg14(session.reader.read(Ef.DG14))


# -- the BSI data set ---------------------------------------------------------------------


def test_bsi_chip_authentication_passes_and_rekeys() -> None:
    session, infos = open_bsi(bsi_chip())
    channel = Recorder(session.transport)
    result = perform_chip_authentication(channel, infos, rng=SeededRandom(1))
    assert result.status is CheckStatus.PASSED, result.reason
    assert result.protocol is CA_PROTOCOLS[ID_CA_ECDH_3DES]
    assert result.key_id is None
    # MSE:Set KAT with DO91 = the ephemeral point on brainpoolP224r1 (no DO84: one key)
    mse = channel.plain[0]
    assert mse[:5] == bytes.fromhex("002241A63B")
    assert mse[5:7] == bytes.fromhex("9139")
    assert mse[7:] == result.terminal_public_key
    assert curve(Std.BRAINPOOL_P224R1).decode_point(mse[7:])
    assert len(channel.plain) == 1
    rekeyed = result.transport
    assert rekeyed is not None
    assert rekeyed.session.alg is KeyAlgorithm.TDES
    assert rekeyed.session.ssc == 2  # SSC 0, then the confirming SELECT and its answer
    assert rekeyed.session.ks_enc != session.transport.session.ks_enc
    assert FileReader(rekeyed).read(Ef.DG1) == bsi_file(0x0101)
    assert result.check() == Check(
        CheckKind.CHIP_AUTHENTICATION, CheckStatus.PASSED, result.reason, "DG14"
    )
    assert "id-CA-ECDH-3DES-CBC-CBC" in result.reason


def test_bsi_old_keys_stop_working_after_chip_authentication() -> None:
    session, infos = open_bsi(bsi_chip())
    assert perform_chip_authentication(session.transport, infos).passed
    with pytest.raises(SecureMessagingError):
        FileReader(session.transport).read(Ef.DG1)


def test_any_status_word_under_the_new_keys_is_proof() -> None:
    """The confirming SELECT of a missing file answers 6A82, MACed with the new keys."""
    session, infos = open_bsi(bsi_chip())

    def confirm(channel: SecureMessagingTransport) -> None:
        with pytest.raises(FileNotFoundOnCardError):
            select_file(channel, Ef.DG11)

    result = perform_chip_authentication(session.transport, infos, confirm=confirm)
    assert result.status is CheckStatus.PASSED, result.reason
    assert result.transport is not None
    assert FileReader(result.transport).read(Ef.COM) == bsi_file(0x011E)


def test_bsi_clone_fails() -> None:
    session, infos = open_bsi(bsi_chip(ca_fault=Fault.WRONG_KEY))
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.FAILED
    assert result.transport is None
    assert result.reason.startswith(
        "the chip cannot answer under the keys agreed with the DG14 public key, so it does "
        "not hold the matching private key: the card answered 6988 without secure messaging"
    )
    assert result.check().status is CheckStatus.FAILED


def test_fresh_ephemeral_key_each_run() -> None:
    keys = []
    for _ in range(2):
        session, infos = open_bsi(bsi_chip())
        result = perform_chip_authentication(session.transport, infos)
        assert result.passed
        keys.append(result.terminal_public_key)
    assert keys[0] != keys[1]


# -- keys and ciphers generated here ----------------------------------------------------

CARD = SampleCard()


def _chip_key_and_spki(kind: str) -> tuple[ChipAuthenticationKey, bytes, bool]:
    """A chip key, its SubjectPublicKeyInfo for DG14, and whether it is ECDH."""
    if kind == "ECDH P-256 named":
        private = ec.generate_private_key(ec.SECP256R1())
        key = ChipAuthenticationKey(curve(Std.SECP256R1), private.private_numbers().private_value)
        return key, named_ec_spki(private), True
    if kind == "ECDH brainpoolP256r1 standardized":
        key = ChipAuthenticationKey.generate(curve(Std.BRAINPOOL_P256R1))
        return key, standardized_spki(Std.BRAINPOOL_P256R1, key.public_key()), True
    if kind == "DH 2048/256 X9.42":
        group = dh_group(Std.MODP_2048_256)
        key = ChipAuthenticationKey.generate(group)
        return key, x942_spki(group, int.from_bytes(key.public_key(), "big")), False
    key = ChipAuthenticationKey.generate(dh_group(Std.MODP_1024_160))
    value = int.from_bytes(key.public_key(), "big")
    return key, standardized_spki(Std.MODP_1024_160, integer(value)), False


def _protocol_oid(ecdh: bool, alg: KeyAlgorithm) -> str:
    (oid,) = [
        protocol.oid
        for protocol in CA_PROTOCOLS.values()
        if protocol.key_algorithm is alg and (protocol.key_agreement.value == "ECDH") == ecdh
    ]
    return oid


def generated_chip(
    kind: str,
    alg: KeyAlgorithm,
    *,
    key_id: int | None = None,
    chip_key_id: int | None = None,
    fault: Fault = Fault.NONE,
) -> EmrtdChip:
    """A BAC chip with DG1 and a DG14 announcing ``key_id``; the chip answers to
    ``chip_key_id`` (default: the same)."""
    key, spki, ecdh = _chip_key_and_spki(kind)
    oid = _protocol_oid(ecdh, alg)
    files = sample_files(CARD)
    del files[0x011C]  # BAC only
    files[0x010E] = dg14(ca_info(oid, key_id=key_id), pk_info(spki, ecdh=ecdh, key_id=key_id))
    config = ChipConfig(files=files, mrz_information=CARD.mrz_information)
    return EmrtdChip(
        config,
        chip_authentication=ChipAuthentication(
            key, oid, key_id=key_id if chip_key_id is None else chip_key_id, fault=fault
        ),
    )


def open_generated(chip: EmrtdChip) -> tuple[CardSession, ChipSecurityInfos]:
    mrz = MrzKey(CARD.document_number, CARD.date_of_birth, CARD.date_of_expiry)
    session = open_session(InProcessTransport(chip), Credentials(mrz_keys=(mrz,)))
    return session, parse_dg14(session.reader.read(Ef.DG14))


KINDS = (
    "ECDH P-256 named",
    "ECDH brainpoolP256r1 standardized",
    "DH 2048/256 X9.42",
    "DH 1024/160 standardized",
)
CIPHERS = (KeyAlgorithm.TDES, KeyAlgorithm.AES_128, KeyAlgorithm.AES_192, KeyAlgorithm.AES_256)


@pytest.mark.parametrize("alg", CIPHERS, ids=lambda alg: alg.name)
@pytest.mark.parametrize("kind", KINDS)
def test_chip_authentication_for_every_key_agreement_and_cipher(
    kind: str, alg: KeyAlgorithm
) -> None:
    session, infos = open_generated(generated_chip(kind, alg, key_id=7))
    channel = Recorder(session.transport)
    result = perform_chip_authentication(channel, infos)
    assert result.status is CheckStatus.PASSED, result.reason
    assert result.key_id == 7
    assert result.transport is not None
    assert result.transport.session.alg is alg
    key_reference = bytes.fromhex("840107")
    if alg is KeyAlgorithm.TDES:
        (mse,) = channel.plain
        assert mse[:4] == bytes.fromhex("002241A6")
        assert mse.endswith(key_reference)
    else:
        mse, general_authenticate = channel.plain
        oid = tlv.encode(0x80, tlv.encode_oid(result.protocol.oid if result.protocol else ""))
        assert mse == bytes.fromhex("002241A4") + bytes((len(oid) + 3,)) + oid + key_reference
        assert general_authenticate[:4] == bytes.fromhex("00860000")
    assert FileReader(result.transport).read(Ef.DG1) == sample_files(CARD)[0x0101]


@pytest.mark.parametrize("kind", [KINDS[0], KINDS[2]])
def test_clone_fails_for_every_key_agreement(kind: str) -> None:
    session, infos = open_generated(
        generated_chip(kind, KeyAlgorithm.AES_128, fault=Fault.WRONG_KEY)
    )
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.FAILED
    assert "does not hold the matching private key" in result.reason


def test_chip_authentication_after_pace_on_a_cccd_like_chip() -> None:
    """PACE-GM with the CAN, then CA with AES-128 on brainpoolP256r1 (docs/domain.md §2)."""
    key = ChipAuthenticationKey.generate(curve(Std.BRAINPOOL_P256R1))
    files = sample_files(CARD)
    files[0x010E] = dg14(
        ca_info(ID_CA_ECDH_AES_128),
        pk_info(standardized_spki(Std.BRAINPOOL_P256R1, key.public_key())),
    )
    pace = ChipPace([Offer(ID_PACE_ECDH_GM_AES_128, 13)], can=CARD.can)
    chip = EmrtdChip(
        ChipConfig(files=files, mrz_information=CARD.mrz_information),
        pace=pace,
        chip_authentication=ChipAuthentication(key, ID_CA_ECDH_AES_128),
    )
    session = open_session(InProcessTransport(chip), Credentials(can=CARD.can))
    assert session.access.method.value == "PACE"
    infos = parse_dg14(session.reader.read(Ef.DG14))
    result = perform_chip_authentication(session.transport, infos)
    assert result.passed, result.reason
    assert result.transport is not None
    assert FileReader(result.transport).read(Ef.DG1) == files[0x0101]


# -- refusals and what is not supported ---------------------------------------------------


def test_chip_without_chip_authentication_refuses() -> None:
    chip = generated_chip(KINDS[0], KeyAlgorithm.AES_128)
    chip.chip_authentication = None
    session, infos = open_generated(chip)
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.FAILED
    assert result.reason == ("the chip refused id-CA-ECDH-AES-CBC-CMAC-128 with 6B00 (wrong p1p2)")


def test_wrong_key_reference_is_refused() -> None:
    chip = generated_chip(KINDS[1], KeyAlgorithm.AES_256, key_id=3, chip_key_id=4)
    session, infos = open_generated(chip)
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.FAILED
    assert "6A88" in result.reason


def test_no_key_in_dg14_is_not_supported() -> None:
    session, _ = open_generated(generated_chip(KINDS[0], KeyAlgorithm.AES_128))
    infos = parse_dg14(dg14(ca_info(ID_CA_ECDH_AES_128)))
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.NOT_SUPPORTED
    assert result.reason == "DG14 offers no usable Chip Authentication key"
    assert result.check().status is CheckStatus.NOT_SUPPORTED


def test_dh_2048_needs_extended_length() -> None:
    chip = generated_chip(KINDS[2], KeyAlgorithm.AES_128)
    mrz = MrzKey(CARD.document_number, CARD.date_of_birth, CARD.date_of_expiry)
    session = open_session(InProcessTransport(chip, extended=False), Credentials(mrz_keys=(mrz,)))
    infos = parse_dg14(session.reader.read(Ef.DG14))
    result = perform_chip_authentication(session.transport, infos)
    assert result.status is CheckStatus.NOT_SUPPORTED
    assert "extended-length" in result.reason


# -- tampered and truncated responses ----------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(("MSE", "SELECT")),
    mode=st.sampled_from(("flip", "truncate")),
    position=st.integers(min_value=0, max_value=40),
    value=st.integers(min_value=1, max_value=255),
)
def test_tampered_responses_raise_card_errors_or_fail(
    which: str, mode: str, position: int, value: int
) -> None:
    chip = bsi_chip()
    link = Link(chip)
    session, infos = open_bsi(chip, link)
    link.tamper_at = link.responses + (1 if which == "MSE" else 2)
    link.tamper = (mode, position, value)
    try:
        result = perform_chip_authentication(session.transport, infos)
    except CardError as exc:
        assert which == "MSE", exc  # only the old channel raises
        assert isinstance(exc, SecureMessagingError)
        return
    if link.tampered_status_word:  # DO99 inside the MAC is what counts
        assert result.status is CheckStatus.PASSED
    else:
        assert which == "SELECT"
        assert result.status is CheckStatus.FAILED


# -- PACE with the Chip Authentication Mapping ----------------------------------------------


def _pace_cam(static_key: int) -> tuple[EmrtdChip, PaceInfo]:
    offer = Offer(ID_PACE_ECDH_CAM_AES_128, 13)
    pace = ChipPace([offer], can=CARD.can, chip_authentication_key=static_key)
    chip = EmrtdChip(ChipConfig(files=sample_files(CARD)), pace=pace)
    return chip, PaceInfo(PACE_PROTOCOLS[ID_PACE_ECDH_CAM_AES_128], 2, 13)


@pytest.mark.parametrize("same_key", [True, False])
def test_pace_cam_check(same_key: bool) -> None:
    params = curve(Std.BRAINPOOL_P256R1)
    chip_key = ChipAuthenticationKey.generate(params)
    dg14_key = chip_key if same_key else ChipAuthenticationKey.generate(params)
    chip, info = _pace_cam(chip_key.private_key)
    result = perform_pace(
        InProcessTransport(chip), PacePassword.from_can(CARD.can), info, parameter_id_in_mse=False
    )
    spki = standardized_spki(Std.BRAINPOOL_P256R1, dg14_key.public_key())
    infos = parse_dg14(dg14(pk_info(spki)))
    check = check_pace_chip_authentication(result, infos)
    assert check.kind is CheckKind.CHIP_AUTHENTICATION
    assert check.status is (CheckStatus.PASSED if same_key else CheckStatus.FAILED)


def test_pace_without_cam_is_not_chip_authentication() -> None:
    chip = EmrtdChip(
        ChipConfig(files=sample_files(CARD)),
        pace=ChipPace([Offer(ID_PACE_ECDH_GM_AES_128, 13)], can=CARD.can),
    )
    info = PaceInfo(PACE_PROTOCOLS[ID_PACE_ECDH_GM_AES_128], 2, 13)
    result = perform_pace(
        InProcessTransport(chip), PacePassword.from_can(CARD.can), info, parameter_id_in_mse=False
    )
    check = check_pace_chip_authentication(result, parse_dg14(bsi_file(0x010E)))
    assert check.status is CheckStatus.NOT_SUPPORTED
