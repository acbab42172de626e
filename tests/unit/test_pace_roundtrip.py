"""PACE end to end: the reader (cardreader.access.pace) against the chip simulator.

The two sides share only the spec-pinned primitives; each run checks that both derive the
same session keys, for every mapping × key agreement × cipher on representative domain
parameters and for every standardized domain parameter with GM-AES-128.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cardreader.access.credentials import MrzKey
from cardreader.access.pace import PacePassword, PaceResult, perform_pace
from cardreader.access.pace_info import (
    PACE_PROTOCOLS,
    CardAccess,
    KeyAgreement,
    PaceInfo,
    PaceMapping,
)
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.domain_params import StandardizedDomainParameter as Id
from cardreader.crypto.domain_params import standardized_domain_parameters
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import AccessDeniedError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu, ResponseApdu
from simulators.chip.pace import ChipPace, Offer

MRZ = MrzKey("123456789", "900101", "300101")
CAN = "654321"
STATIC_KEY = 0x3C8A5D2E1F0B7A6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3B2C
"""The chip's static Chip Authentication private key (for PACE-CAM)."""


class ChipTransport:
    """In-process transport: each command APDU goes straight to the chip simulator."""

    def __init__(self, chip: ChipPace, *, extended: bool = True) -> None:
        self.chip = chip
        self.supports_extended_length = extended
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.chip.process(apdu)


def _oid(agreement: KeyAgreement, mapping: PaceMapping, algorithm: KeyAlgorithm) -> str:
    (oid,) = [
        protocol.oid
        for protocol in PACE_PROTOCOLS.values()
        if (protocol.key_agreement, protocol.mapping, protocol.key_algorithm)
        == (agreement, mapping, algorithm)
    ]
    return oid


def _run(
    oid: str, parameter_id: int, password: PacePassword, *, chip_can: str = CAN
) -> tuple[PaceResult, ChipPace]:
    chip = ChipPace(
        [Offer(oid, parameter_id)],
        mrz_information=MRZ.mrz_information,
        can=chip_can,
        chip_authentication_key=STATIC_KEY,
    )
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, parameter_id)
    result = perform_pace(ChipTransport(chip), password, info, parameter_id_in_mse=False)
    return result, chip


def _assert_same_keys(result: PaceResult, chip: ChipPace, algorithm: KeyAlgorithm) -> None:
    assert chip.session_keys == (algorithm, result.ks_enc, result.ks_mac)
    assert len(result.ks_enc) == len(result.ks_mac) == algorithm.key_length
    assert result.key_algorithm is algorithm


EC_IDS = [Id.SECP192R1, *range(Id.BRAINPOOL_P192R1, Id.SECP521R1 + 1)]
DH_IDS = [Id.MODP_1024_160, Id.MODP_2048_224, Id.MODP_2048_256]


@pytest.mark.parametrize("parameter_id", DH_IDS + EC_IDS, ids=lambda i: Id(i).name)
def test_gm_aes128_on_every_standardized_domain_parameter(parameter_id: int) -> None:
    agreement = KeyAgreement.DH if parameter_id in DH_IDS else KeyAgreement.ECDH
    oid = _oid(agreement, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    result, chip = _run(oid, parameter_id, PacePassword.from_can(CAN))
    _assert_same_keys(result, chip, KeyAlgorithm.AES_128)
    assert result.parameter_id == parameter_id


REPRESENTATIVE = {
    KeyAgreement.ECDH: (Id.SECP256R1, Id.BRAINPOOL_P256R1),
    KeyAgreement.DH: (Id.MODP_1024_160, Id.MODP_2048_256),
}
MATRIX = [
    (protocol.oid, parameter_id)
    for protocol in PACE_PROTOCOLS.values()
    for parameter_id in REPRESENTATIVE[protocol.key_agreement]
]


@pytest.mark.parametrize(
    ("oid", "parameter_id"),
    MATRIX,
    ids=[f"{PACE_PROTOCOLS[oid].name[8:]}-{Id(p).name}" for oid, p in MATRIX],
)
@pytest.mark.parametrize("password_kind", ["CAN", "MRZ"])
def test_every_protocol(oid: str, parameter_id: int, password_kind: str) -> None:
    """GM, IM and CAM × DH and ECDH × 3DES and AES-128/192/256 (ICAO 9303-11 tables 2-3)."""
    password = PacePassword.from_can(CAN) if password_kind == "CAN" else PacePassword.from_mrz(MRZ)
    result, chip = _run(oid, parameter_id, password)
    protocol = PACE_PROTOCOLS[oid]
    _assert_same_keys(result, chip, protocol.key_algorithm)
    assert result.protocol is protocol
    has_mapping_key = protocol.mapping is not PaceMapping.INTEGRATED
    assert (result.chip_mapping_public_key is not None) == has_mapping_key
    has_cam = protocol.mapping is PaceMapping.CHIP_AUTHENTICATION
    assert (result.chip_authentication_data is not None) == has_cam


IM_IDS = [i for i in EC_IDS if i != Id.SECP224R1] + [Id.MODP_2048_224, Id.MODP_2048_256]


@pytest.mark.parametrize("parameter_id", IM_IDS, ids=lambda i: Id(i).name)
def test_im_aes256_on_every_domain_parameter_it_supports(parameter_id: int) -> None:
    agreement = KeyAgreement.DH if parameter_id in DH_IDS else KeyAgreement.ECDH
    oid = _oid(agreement, PaceMapping.INTEGRATED, KeyAlgorithm.AES_256)
    result, chip = _run(oid, parameter_id, PacePassword.from_mrz(MRZ))
    _assert_same_keys(result, chip, KeyAlgorithm.AES_256)


def test_im_is_not_defined_on_p224() -> None:
    """Table 12: secp224r1 cannot be used with the Integrated Mapping (p ≢ 3 mod 4)."""
    oid = _oid(KeyAgreement.ECDH, PaceMapping.INTEGRATED, KeyAlgorithm.AES_128)
    with pytest.raises(ValueError, match="not defined"):
        Offer(oid, Id.SECP224R1)
    chip = ChipPace([Offer(oid, Id.SECP256R1)], can=CAN)
    transport = ChipTransport(chip)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.SECP224R1)
    with pytest.raises(UnsupportedProtocolError):
        perform_pace(transport, PacePassword.from_can(CAN), info, parameter_id_in_mse=False)
    assert transport.commands == []


@pytest.mark.parametrize("password_kind", ["CAN", "MRZ"])
@pytest.mark.parametrize("mapping", list(PaceMapping), ids=lambda m: m.value)
def test_wrong_password_is_access_denied_without_keys(
    mapping: PaceMapping, password_kind: str
) -> None:
    oid = _oid(KeyAgreement.ECDH, mapping, KeyAlgorithm.AES_128)
    chip = ChipPace(
        [Offer(oid, Id.BRAINPOOL_P256R1)],
        mrz_information=MRZ.mrz_information,
        can=CAN,
        chip_authentication_key=STATIC_KEY,
    )
    wrong = (
        PacePassword.from_can("000000")
        if password_kind == "CAN"
        else PacePassword.from_mrz(MrzKey("123456789", "900101", "300102"))
    )
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.BRAINPOOL_P256R1)
    with pytest.raises(AccessDeniedError) as caught:
        perform_pace(ChipTransport(chip), wrong, info, parameter_id_in_mse=False)
    assert caught.value.method == "PACE"
    assert chip.session_keys is None


def test_password_the_chip_does_not_hold_is_refused_at_mse() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    chip = ChipPace([Offer(oid, Id.BRAINPOOL_P256R1)], mrz_information=MRZ.mrz_information)
    transport = ChipTransport(chip)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.BRAINPOOL_P256R1)
    with pytest.raises(AccessDeniedError, match="MSE:Set AT rejected with 6A88"):
        perform_pace(transport, PacePassword.from_can(CAN), info, parameter_id_in_mse=False)
    assert len(transport.commands) == 1


def _static_public_key(parameter_id: int, private_key: int = STATIC_KEY) -> bytes:
    curve = standardized_domain_parameters(parameter_id)
    assert isinstance(curve, Curve)
    point = curve.multiply(private_key, curve.g)
    assert point is not None
    return curve.encode_point(point)


def test_cam_authenticates_the_chip_with_its_static_key() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.CHIP_AUTHENTICATION, KeyAlgorithm.AES_128)
    result, _ = _run(oid, Id.BRAINPOOL_P256R1, PacePassword.from_can(CAN))
    assert not result.chip_authenticated
    assert result.verify_chip_authentication(_static_public_key(Id.BRAINPOOL_P256R1))
    assert not result.verify_chip_authentication(_static_public_key(Id.BRAINPOOL_P256R1, 7))


def test_cam_in_run_verification() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.CHIP_AUTHENTICATION, KeyAlgorithm.AES_256)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.SECP256R1)

    def chip() -> ChipTransport:
        offer = Offer(oid, Id.SECP256R1)
        return ChipTransport(ChipPace([offer], can=CAN, chip_authentication_key=STATIC_KEY))

    good = perform_pace(
        chip(),
        PacePassword.from_can(CAN),
        info,
        parameter_id_in_mse=False,
        chip_static_public_key=_static_public_key(Id.SECP256R1),
    )
    assert good.chip_authenticated
    with pytest.raises(AccessDeniedError, match="does not match PK_IC"):
        perform_pace(
            chip(),
            PacePassword.from_can(CAN),
            info,
            parameter_id_in_mse=False,
            chip_static_public_key=_static_public_key(Id.SECP256R1, 5),
        )


def test_gm_result_has_no_chip_authentication() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    result, _ = _run(oid, Id.BRAINPOOL_P256R1, PacePassword.from_can(CAN))
    with pytest.raises(UnsupportedProtocolError):
        result.verify_chip_authentication(_static_public_key(Id.BRAINPOOL_P256R1))


def test_parameter_id_selects_among_several_offers() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    chip = ChipPace([Offer(oid, Id.SECP256R1), Offer(oid, Id.BRAINPOOL_P256R1)], can=CAN)
    infos = tuple(PaceInfo(PACE_PROTOCOLS[oid], 2, i) for i in (Id.SECP256R1, Id.BRAINPOOL_P256R1))
    card_access = CardAccess(infos, (), ())
    assert card_access.parameter_id_required
    transport = ChipTransport(chip)
    result = perform_pace(
        transport,
        PacePassword.from_can(CAN),
        infos[1],
        parameter_id_in_mse=card_access.parameter_id_required,
    )
    assert transport.commands[0].hex().upper().endswith("830102" + "84010D")
    _assert_same_keys(result, chip, KeyAlgorithm.AES_128)
    # Without the parameter ID the chip cannot tell which set is meant.
    with pytest.raises(AccessDeniedError):
        perform_pace(
            ChipTransport(chip), PacePassword.from_can(CAN), infos[1], parameter_id_in_mse=False
        )


def test_large_dh_groups_need_extended_length() -> None:
    oid = _oid(KeyAgreement.DH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    chip = ChipPace([Offer(oid, Id.MODP_2048_256)], can=CAN)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.MODP_2048_256)
    with pytest.raises(UnsupportedProtocolError, match="extended-length"):
        perform_pace(
            ChipTransport(chip, extended=False),
            PacePassword.from_can(CAN),
            info,
            parameter_id_in_mse=False,
        )
    transport = ChipTransport(chip)
    perform_pace(transport, PacePassword.from_can(CAN), info, parameter_id_in_mse=False)
    assert transport.commands[1][4] == 0x00  # extended Lc marker


def test_session_keys_feed_secure_messaging() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    result, chip = _run(oid, Id.BRAINPOOL_P256R1, PacePassword.from_can(CAN))
    channel = result.secure_messaging(ChipTransport(chip))
    assert isinstance(channel, SecureMessagingTransport)
    assert channel.session.ssc == 0


# -- a chip that misbehaves ----------------------------------------------------------------


class TamperingTransport(ChipTransport):
    """Rewrites the chip's answer to the command with index ``step``."""

    def __init__(self, chip: ChipPace, step: int, rewrite: Callable[[bytes, bytes], bytes]) -> None:
        super().__init__(chip)
        self.step = step
        self.rewrite = rewrite

    def transmit(self, apdu: bytes) -> bytes:
        response = super().transmit(apdu)
        if len(self.commands) - 1 == self.step:
            return self.rewrite(apdu, response)
        return response


def _echo_terminal_key(command: bytes, response: bytes) -> bytes:
    objects = tlv.decode_single(CommandApdu.decode(command).data).value
    return tlv.encode(0x7C, b"\x84" + objects[1:]) + response[-2:]


def _flip_last_data_byte(command: bytes, response: bytes) -> bytes:
    """Pushes a point off the curve, or spoils a token."""
    return response[:-3] + bytes([response[-3] ^ 1]) + response[-2:]


@pytest.mark.parametrize(
    ("step", "rewrite", "reason"),
    [
        (2, _flip_last_data_byte, "invalid key or mapping"),
        (3, _echo_terminal_key, "echoed the terminal's ephemeral key"),
        (3, _flip_last_data_byte, "invalid key or mapping"),
        (4, _flip_last_data_byte, "token does not verify"),
    ],
    ids=["mapping-key-off-curve", "echoed-key", "ephemeral-key-off-curve", "bad-token"],
)
def test_reader_rejects_a_misbehaving_chip(
    step: int, rewrite: Callable[[bytes, bytes], bytes], reason: str
) -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    chip = ChipPace([Offer(oid, Id.BRAINPOOL_P256R1)], can=CAN)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.BRAINPOOL_P256R1)
    with pytest.raises(AccessDeniedError, match=reason):
        perform_pace(
            TamperingTransport(chip, step, rewrite),
            PacePassword.from_can(CAN),
            info,
            parameter_id_in_mse=False,
        )


def _sw(response: bytes) -> int:
    return ResponseApdu.decode(response).sw


def test_chip_state_machine_refuses_out_of_order_commands() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.GENERIC, KeyAlgorithm.AES_128)
    chip = ChipPace([Offer(oid, Id.BRAINPOOL_P256R1)], can=CAN)
    mse = "0022C1A40F800A04007F00070202040202830102"
    assert _sw(chip.process(bytes.fromhex("10860000027C0000"))) == 0x6985  # GA before MSE
    assert _sw(chip.process(bytes.fromhex("0022C1A6" + mse[8:]))) == 0x6B00  # wrong P1-P2
    assert _sw(chip.process(bytes.fromhex(mse[:-2] + "01"))) == 0x6A88  # no MRZ password
    assert _sw(chip.process(bytes.fromhex(mse.replace("040202", "040302")))) == 0x6A80
    assert _sw(chip.process(bytes.fromhex(mse))) == 0x9000
    assert _sw(chip.process(bytes.fromhex("00860000027C0000"))) == 0x6A80  # chain bit missing
    assert _sw(chip.process(bytes.fromhex("10860000027C0000"))) == 0x6985  # run was reset
    assert _sw(chip.process(bytes.fromhex(mse))) == 0x9000
    assert _sw(chip.process(bytes.fromhex("10860000037C0100"))) == 0x6A80  # broken TLV
    assert _sw(chip.process(bytes.fromhex("00B0000000"))) == 0x6D00
    assert _sw(chip.process(b"\x00\x86")) == 0x6A80
    assert chip.session_keys is None


def test_reader_rejects_a_short_nonce_for_the_integrated_mapping() -> None:
    oid = _oid(KeyAgreement.ECDH, PaceMapping.INTEGRATED, KeyAlgorithm.AES_256)
    chip = ChipPace([Offer(oid, Id.BRAINPOOL_P256R1)], can=CAN)
    info = PaceInfo(PACE_PROTOCOLS[oid], 2, Id.BRAINPOOL_P256R1)

    def first_block_only(command: bytes, response: bytes) -> bytes:
        return tlv.encode(0x7C, tlv.encode(0x80, response[4:20])) + response[-2:]

    with pytest.raises(AccessDeniedError, match="does not fit the Integrated Mapping"):
        perform_pace(
            TamperingTransport(chip, 1, first_block_only),
            PacePassword.from_can(CAN),
            info,
            parameter_id_in_mse=False,
        )
