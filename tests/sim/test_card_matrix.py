"""Reader and simulator agree on every profile, access method and cipher suite (issue #4),
and every fault gives the reader's specific error or a non-VERIFIED verdict."""

from __future__ import annotations

import time

import pytest

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.access.strategy import AccessMethod
from cardreader.errors import CardRemovedError
from cardreader.lds.identity import Source
from cardreader.verified_read import VerifiedReader, read_and_verify
from cardreader.verify.report import CheckKind, CheckStatus, Verdict
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.faults import FaultSpec
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import IssuedCard, Profile, build_chip, issue_card, sim_pki
from simulators.persona import make_persona
from simulators.timing import TimedCard, TimingModel

TRUST = TrustStore(parse_certificates(sim_pki().csca.der))
SEEDS = (7, 3, 11)


def _mrz_key(card: IssuedCard) -> MrzKey:
    info = card.mrz_information
    return MrzKey(info[:9].rstrip("<"), info[10:16], info[17:23])


def _credentials(card: IssuedCard, method: str) -> Credentials:
    if method == "PACE-CAN":
        return Credentials(can=card.can)
    return Credentials(mrz_keys=(_mrz_key(card),))


def _status(report_checks: tuple, kind: CheckKind) -> set[CheckStatus]:  # type: ignore[type-arg]
    return {check.status for check in report_checks if check.kind is kind}


CASES = [
    (Profile.CCCD_2021, "PACE-CAN", (), "id-PACE-ECDH-GM-AES-CBC-CMAC-128"),
    (Profile.CCCD_2021, "PACE-MRZ", (), "id-PACE-ECDH-GM-AES-CBC-CMAC-128"),
    (Profile.CCCD_2021, "BAC", ("no-pace",), "BAC (3DES)"),
    (Profile.CAN_CUOC_2024, "PACE-CAN", (), "id-PACE-ECDH-CAM-AES-CBC-CMAC-128"),
    (Profile.CAN_CUOC_2024, "PACE-MRZ", (), "id-PACE-ECDH-CAM-AES-CBC-CMAC-128"),
    (Profile.CAN_CUOC_2024, "BAC", ("no-pace",), "BAC (3DES)"),
    (Profile.PASSPORT, "BAC", (), "BAC (3DES)"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("profile", "method", "faults", "protocol"), CASES)
def test_every_profile_and_access_method_verifies(
    seed: int, profile: Profile, method: str, faults: tuple[str, ...], protocol: str
) -> None:
    persona = make_persona(seed)
    card = issue_card(persona, profile, tuple(FaultSpec.parse(f) for f in faults))
    result = read_and_verify(
        InProcessTransport(build_chip(card)), _credentials(card, method), TRUST
    )
    assert result.access.protocol == protocol
    assert result.access.method is (AccessMethod.BAC if method == "BAC" else AccessMethod.PACE)
    assert result.report.verdict is Verdict.VERIFIED, result.report.checks
    genuine = _status(result.report.checks, CheckKind.CHIP_AUTHENTICATION)
    assert genuine == {CheckStatus.PASSED}
    assert result.face is not None and (result.face.width, result.face.height) == (240, 320)
    identity = result.identity
    if profile is Profile.PASSPORT:
        assert identity.document_number is not None
        assert identity.document_number.value == "C" + persona.id_number[-7:]
    else:
        assert identity.id_number is not None and identity.id_number.value == persona.id_number
        assert identity.full_name is not None and identity.full_name.value == persona.full_name
        assert identity.full_name.source is Source.DG13
        assert identity.place_of_residence is not None
        assert identity.place_of_residence.value == persona.place_of_residence
        assert identity.date_of_birth is not None
        assert identity.date_of_birth.value.value == persona.date_of_birth
        assert identity.findings == ()


def test_untrusted_without_the_simulator_csca() -> None:
    card = issue_card(make_persona(7))
    result = read_and_verify(
        InProcessTransport(build_chip(card)), Credentials(can=card.can), TrustStore()
    )
    assert result.report.verdict is Verdict.UNTRUSTED
    assert _status(result.report.checks, CheckKind.CHAIN) == {CheckStatus.UNKNOWN}


def test_active_authentication_on_every_profile() -> None:
    for profile in Profile:
        card = issue_card(make_persona(5), profile)
        reader = VerifiedReader(
            InProcessTransport(build_chip(card)),
            Credentials(mrz_keys=(_mrz_key(card),)),
            TRUST,
            run_both=True,
        )
        report = reader.read_identity().report
        assert _status(report.checks, CheckKind.ACTIVE_AUTHENTICATION) == {CheckStatus.PASSED}, (
            profile
        )


FAULT_VERDICTS = [
    ("ca-clone", Verdict.INVALID, CheckKind.CHIP_AUTHENTICATION),
    ("tampered-dg=1", Verdict.INVALID, CheckKind.DG_HASH),
    ("tampered-dg=13", Verdict.INVALID, CheckKind.DG_HASH),
    ("tampered-dg=2", Verdict.INVALID, CheckKind.DG_HASH),
    ("bad-sod-signature", Verdict.INVALID, CheckKind.SOD_SIGNATURE),
    ("expired-signer", Verdict.INVALID, CheckKind.DS_CERTIFICATE),
]


@pytest.mark.parametrize(("fault", "verdict", "failed_kind"), FAULT_VERDICTS)
def test_faults_that_a_verdict_must_catch(
    fault: str, verdict: Verdict, failed_kind: CheckKind
) -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse(fault),))
    result = read_and_verify(InProcessTransport(build_chip(card)), Credentials(can=card.can), TRUST)
    assert result.report.verdict is verdict
    assert CheckStatus.FAILED in _status(result.report.checks, failed_kind)


def test_unknown_signer_is_untrusted_never_verified() -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse("unknown-signer"),))
    result = read_and_verify(InProcessTransport(build_chip(card)), Credentials(can=card.can), TRUST)
    assert result.report.verdict is Verdict.UNTRUSTED
    assert _status(result.report.checks, CheckKind.CHAIN) == {CheckStatus.UNKNOWN}


def test_ca_clone_stops_before_the_photo() -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse("ca-clone"),))
    result = read_and_verify(InProcessTransport(build_chip(card)), Credentials(can=card.can), TRUST)
    assert result.face is None and result.photo_problem is not None
    assert "failed Chip Authentication" in result.photo_problem


def test_aa_clone_is_caught_when_active_authentication_runs() -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse("aa-clone"),))
    reader = VerifiedReader(
        InProcessTransport(build_chip(card)), Credentials(can=card.can), TRUST, run_both=True
    )
    report = reader.read_identity().report
    assert _status(report.checks, CheckKind.ACTIVE_AUTHENTICATION) == {CheckStatus.FAILED}
    assert report.verdict is Verdict.INVALID


def test_pace_failing_downgrades_to_bac_and_says_so() -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse("pace-fails"),))
    creds = Credentials(can=card.can, mrz_keys=(_mrz_key(card),))
    result = read_and_verify(InProcessTransport(build_chip(card)), creds, TRUST)
    assert result.access.method is AccessMethod.BAC and result.access.downgraded
    assert _status(result.report.checks, CheckKind.ACCESS) == {CheckStatus.UNKNOWN}


def test_short_le_card_is_read_in_short_blocks() -> None:
    card = issue_card(make_persona(7), faults=(FaultSpec.parse("short-le"),))
    link = InProcessTransport(build_chip(card), extended=False)
    result = read_and_verify(link, Credentials(can=card.can), TRUST)
    assert result.report.verdict is Verdict.VERIFIED
    assert link.sent > 40


class _Recorded:
    """A chip whose every command APDU is kept."""

    def __init__(self, card: IssuedCard) -> None:
        self.chip = build_chip(card)
        self.commands: list[bytes] = []

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.chip.process(apdu)


@pytest.mark.parametrize(
    ("fault", "extended_apdus", "apdus"), [("short-le", 3, 76), ("short-le-atr", 0, 73)]
)
def test_a_card_that_declares_short_length_in_its_atr_gets_no_extended_apdu(
    fault: str, extended_apdus: int, apdus: int
) -> None:
    """Both refuse extended length; only the silent ATR costs the three refused probes."""
    card = issue_card(make_persona(7), Profile.CAN_CUOC_2024, (FaultSpec.parse(fault),))
    chip = _Recorded(card)
    link = InProcessTransport(chip, atr=chip.chip.atr)
    result = read_and_verify(link, Credentials(can=card.can), TRUST)
    assert result.report.verdict is Verdict.VERIFIED
    extended = [apdu for apdu in chip.commands if len(apdu) > 5 and apdu[4] == 0]  # 7816-4 §5.1
    assert (len(extended), len(chip.commands)) == (extended_apdus, apdus)


@pytest.mark.parametrize("remove_at", [2, 5, 9, 11, 13, 14])
def test_card_removed_at_any_step_is_card_removed(remove_at: int) -> None:
    card = issue_card(make_persona(7))
    with pytest.raises(CardRemovedError):
        read_and_verify(
            InProcessTransport(build_chip(card), remove_at=remove_at),
            Credentials(can=card.can),
            TRUST,
        )


def test_slow_card_takes_the_time_of_its_timing_model() -> None:
    model = TimingModel(apdu_overhead_s=0.002, pace_s=0.04, ca_s=0.02)
    timed = TimedCard(build_chip(issue_card(make_persona(7))), model, realtime=True)
    started = time.perf_counter()
    read_and_verify(InProcessTransport(timed), Credentials(can=make_persona(7).can), TRUST)
    assert time.perf_counter() - started >= timed.estimated_s > 0.06 + 0.002 * timed.apdus
