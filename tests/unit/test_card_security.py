"""EF.CardSecurity (issue 11 item 3): parsed, its signature and chain verified like EF.SOD's,
its keys used for PACE-CAM and for Chip Authentication version 2 (BSI TR-03110-3 §A.1.2.5,
ICAO 9303-11 §4.4.3.5, §9.2).

The chips are the simulator's: the 2024 profile carries EF.CardSecurity signed by the
simulator's Document Signer with the key its PACE-CAM proves. Variants are built here with
the same PKI: another key, a broken signature, an unknown signer, no file at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cache

import pytest

from cardreader.access.credentials import Credentials
from cardreader.access.strategy import open_session
from cardreader.errors import ParseError
from cardreader.files.ids import Ef
from cardreader.iso7816 import tlv
from cardreader.verified_read import VerifiedCard, read_and_verify
from cardreader.verify.card_security import parse_card_security
from cardreader.verify.passive import verify_files
from cardreader.verify.report import CheckKind, CheckStatus, Verdict, VerificationReport
from cardreader.verify.signature import Certificate
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.chip.chip_auth import ChipAuthenticationKey
from simulators.inprocess import InProcessTransport
from simulators.issuance import security_infos as si
from simulators.issuance.card import (
    BRAINPOOL_P256R1,
    CARD_ACCESS_FID,
    IssuedCard,
    Profile,
    build_chip,
    issue_card,
    sim_pki,
)
from simulators.persona import make_persona

P, F, U = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.UNKNOWN
TRUST = TrustStore(parse_certificates(sim_pki().csca.der))


@cache
def card_2024() -> IssuedCard:
    return issue_card(make_persona(9), Profile.CAN_CUOC_2024)


def _infos(*extra: bytes, key: ChipAuthenticationKey | None = None) -> bytes:
    """The 2024 card's EF.CardAccess infos and an id-PK-ECDH key (the chip's, or ``key``)."""
    card = card_2024()
    chosen = key or card.ca_key
    card_access = tlv.decode_single(card.files[CARD_ACCESS_FID]).value
    public = si.chip_authentication_public_key_info(True, BRAINPOOL_P256R1, chosen.public_key())
    return tlv.encode(0x31, card_access + public + b"".join(extra))


def read(card: IssuedCard, trust: TrustStore = TRUST) -> VerifiedCard:
    return read_and_verify(InProcessTransport(build_chip(card)), Credentials(can=card.can), trust)


def statuses(report: VerificationReport, kind: CheckKind) -> dict[str, CheckStatus]:
    return {check.subject: check.status for check in report.of_kind(kind)}


def with_card_security(data: bytes | None) -> IssuedCard:
    return dataclasses.replace(card_2024(), card_security=data)


def test_the_2024_card_security_holds_the_chip_key_and_the_card_access_infos() -> None:
    card = card_2024()
    assert card.card_security is not None
    parsed = parse_card_security(card.card_security)
    infos = parsed.security_infos
    assert [info.protocol.name for info in infos.card_access.pace_infos] == [
        "id-PACE-ECDH-GM-AES-CBC-CMAC-128",
        "id-PACE-ECDH-CAM-AES-CBC-CMAC-128",
    ]
    (key,) = infos.chip_authentication_keys
    assert key.public_key.encoded == card.ca_key.public_key()
    assert [info.protocol.name for info in infos.chip_authentication] == [
        "id-CA-ECDH-AES-CBC-CMAC-128"
    ]
    assert parsed.signed_data.content_type == "0.4.0.127.0.7.3.2.1"
    assert parsed.signed_data.content == _infos()


def test_pace_cam_uses_the_card_security_key_and_the_file_is_verified() -> None:
    result = read(card_2024())
    report = result.report
    assert result.access.protocol == "id-PACE-ECDH-CAM-AES-CBC-CMAC-128"
    assert report.verdict is Verdict.VERIFIED, report.checks
    (ca,) = report.of_kind(CheckKind.CHIP_AUTHENTICATION)
    assert (ca.subject, ca.status, ca.reason) == (
        "EF.CardSecurity",
        P,
        "PACE-CAM: the chip authentication data matches the EF.CardSecurity public key",
    )
    assert statuses(report, CheckKind.CARD_SECURITY) == {
        "security-infos": P,
        "signed-attributes content-type": P,
        "signed-attributes message-digest": P,
        "signature": P,
        "ds-certificate validity": P,
        "ds-certificate key-usage": P,
        "chain": P,
    }
    assert statuses(report, CheckKind.CRL) == {"": U, "EF.CardSecurity": U}
    assert result.files[Ef.CARD_SECURITY] == card_2024().card_security


def test_the_ds_both_signed_files_carry_is_chained_once(monkeypatch: pytest.MonkeyPatch) -> None:
    files = read(card_2024()).files
    chained: list[bytes] = []
    original = Certificate.is_signed_by

    def counted(self: Certificate, issuer: Certificate) -> bool:
        chained.append(self.der)
        return original(self, issuer)

    monkeypatch.setattr(Certificate, "is_signed_by", counted)
    report = verify_files(files, TRUST, None, None)
    assert len(chained) == 1
    assert report.of_kind(CheckKind.CHAIN)[0].status is P
    assert statuses(report, CheckKind.CARD_SECURITY)["chain"] is P


def test_card_security_is_read_in_the_master_file_before_the_application() -> None:
    chip = build_chip(card_2024())
    commands: list[bytes] = []
    original = chip.process

    def recording(apdu: bytes) -> bytes:
        commands.append(apdu)
        return original(apdu)

    chip.process = recording  # type: ignore[method-assign]
    session = open_session(InProcessTransport(chip), Credentials(can=card_2024().can))
    assert session.card_security == card_2024().card_security
    # EF.CardAccess in plain by its short EF identifier 1C; under SM, READ BINARY of short
    # EF identifier 1D (EF.CardSecurity, the master file's), then SELECT of the AID
    assert commands[0] == bytes.fromhex("00B09C0000FF00")
    assert [(c[1], c[2]) for c in commands[6:]] == [(0xB0, 0x9D), (0xA4, 0x04)]


def test_a_card_security_key_the_chip_does_not_hold_fails_pace_cam() -> None:
    other = ChipAuthenticationKey.generate(card_2024().ca_key.params)
    forged = sim_pki().pki.card_security(sim_pki().signer, _infos(key=other))
    report = read(with_card_security(forged)).report
    (ca,) = report.of_kind(CheckKind.CHIP_AUTHENTICATION)
    assert (ca.status, ca.reason) == (
        F,
        "PACE-CAM: the chip authentication data does not match any EF.CardSecurity public key",
    )
    assert statuses(report, CheckKind.CARD_SECURITY)["signature"] is P
    assert report.verdict is Verdict.INVALID


def test_a_changed_card_security_is_invalid() -> None:
    data = card_2024().card_security
    assert data is not None
    signature = parse_card_security(data).signed_data.signer_info.signature
    at = data.index(signature) + 5
    broken = data[:at] + bytes((data[at] ^ 1,)) + data[at + 1 :]
    report = read(with_card_security(broken)).report
    assert statuses(report, CheckKind.CARD_SECURITY)["signature"] is F
    assert report.verdict is Verdict.INVALID
    version = si.terminal_authentication_info()
    infos_at = data.index(version) + len(version) - 1  # TerminalAuthenticationInfo version 1 → 0
    changed = data[:infos_at] + bytes((data[infos_at] ^ 1,)) + data[infos_at + 1 :]
    report = read(with_card_security(changed)).report
    assert report.verdict is Verdict.INVALID
    assert statuses(report, CheckKind.CARD_SECURITY)["signed-attributes message-digest"] is F


def test_a_card_security_under_an_unknown_csca_is_untrusted() -> None:
    rogue = sim_pki().unknown_signer
    signed = sim_pki().pki.card_security(rogue, _infos())
    report = read(with_card_security(signed)).report
    assert statuses(report, CheckKind.CARD_SECURITY)["chain"] is U
    assert statuses(report, CheckKind.CHAIN) == {"": P}
    assert report.verdict is Verdict.UNTRUSTED


def test_a_cam_chip_without_card_security_proves_itself_with_dg14() -> None:
    result = read(with_card_security(None))
    assert Ef.CARD_SECURITY not in result.files
    (ca,) = result.report.of_kind(CheckKind.CHIP_AUTHENTICATION)
    assert (ca.subject, ca.status) == ("DG14", P)
    assert result.report.of_kind(CheckKind.CARD_SECURITY) == ()
    assert result.report.verdict is Verdict.VERIFIED


def test_malformed_security_infos_with_a_valid_signature_are_invalid() -> None:
    """The signature is still checked: it verifies, and the content is what fails."""
    infos = tlv.encode(
        0x31, tlv.encode(0x30, tlv.encode(0x06, tlv.encode_oid("0.4.0.127.0.7.2.2.2")))
    )
    signed = sim_pki().pki.card_security(sim_pki().signer, infos)
    report = verify_files(
        {Ef.CARD_SECURITY: signed, Ef.SOD: card_2024().files[0x011D]}, TRUST, None, None
    )
    checks = {c.subject: (c.status, c.reason) for c in report.of_kind(CheckKind.CARD_SECURITY)}
    assert checks["security-infos"] == (
        F,
        "malformed SecurityInfos: SecurityInfo 0.4.0.127.0.7.2.2.2 without its required data "
        "(ICAO 9303-11 §9.2)",
    )
    assert checks["signature"][0] is P and checks["chain"][0] is P
    assert report.verdict is Verdict.INVALID


def test_a_malformed_card_security_is_invalid_and_dg14_still_proves_the_chip() -> None:
    result = read(with_card_security(b"\x30\x03\x02\x01\x00"))
    assert [(c.status, c.reason[:33]) for c in result.report.of_kind(CheckKind.CARD_SECURITY)] == [
        (F, "EF.CardSecurity is malformed: mal")
    ]
    (ca,) = result.report.of_kind(CheckKind.CHIP_AUTHENTICATION)
    assert (ca.subject, ca.status) == ("DG14", P)
    assert result.report.verdict is Verdict.INVALID


def test_chip_authentication_version_2_takes_its_key_from_card_security() -> None:
    """A GM chip announcing CA version 2 in EF.CardAccess: the key comes from EF.CardSecurity."""
    base = issue_card(make_persona(9))
    ca_v2 = tlv.encode(
        0x30, tlv.encode(0x06, tlv.encode_oid(base.ca_oid)) + tlv.encode(0x02, b"\x02")
    )
    announced = [
        si.terminal_authentication_info(),
        ca_v2,
        *(si.pace_info(offer.oid, offer.parameter_id) for offer in base.pace_offers),
    ]
    card_access = si.security_infos(*announced)
    key = base.ca_key.public_key()
    public = si.chip_authentication_public_key_info(True, BRAINPOOL_P256R1, key)
    card_security = sim_pki().pki.card_security(
        sim_pki().signer, si.security_infos(*announced, public)
    )
    files: Mapping[int, bytes] = {**base.files, CARD_ACCESS_FID: card_access}
    card = dataclasses.replace(base, files=files, card_security=card_security)
    result = read(card)
    (ca,) = result.report.of_kind(CheckKind.CHIP_AUTHENTICATION)
    assert (ca.subject, ca.status) == ("EF.CardSecurity", P)
    assert ca.reason.startswith("the chip proved it holds the EF.CardSecurity private key")
    assert result.report.verdict is Verdict.VERIFIED, result.report.checks


def test_offline_verification_of_saved_card_security() -> None:
    card = card_2024()
    assert card.card_security is not None
    files = {
        Ef.SOD: card.files[0x011D],
        Ef.DG1: card.files[0x0101],
        Ef.CARD_SECURITY: card.card_security,
    }
    report = verify_files(files, TRUST, None, "VNM")
    assert report.verdict is Verdict.VERIFIED
    assert set(statuses(report, CheckKind.CARD_SECURITY).values()) == {P}
    assert verify_files(files, TrustStore(), None, "VNM").verdict is Verdict.UNTRUSTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x77\x02\x30\x00", "malformed CMS SignedData"),
        (b"\x30" + bytes(70000), "exceeds 65536"),
    ],
)
def test_malformed_card_security_is_a_parse_error(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_card_security(data)
    master_list = sim_pki().master_list()
    with pytest.raises(ParseError, match="is not SECURITY_OBJECT"):
        parse_card_security(master_list)
