"""Issue #16 item 1: the identity phase at its floor of APDUs, with every proof still made.

Each file is one READ BINARY by its short EF identifier on an extended-length link; EF.SOD
lists the data groups (no EF.COM); DG14 only when EF.CardSecurity does not hold the Chip
Authentication key; DG15 only when Active Authentication runs; the first READ BINARY under
the Chip Authentication keys is the proof (no confirming SELECT). Passive authentication
verifies EF.SOD's signature once; the photo adds only DG2's hash.
"""

from __future__ import annotations

import pytest

from cardreader.access.credentials import Credentials
from cardreader.files.ids import Ef
from cardreader.verified_read import VerifiedReader
from cardreader.verify import passive
from cardreader.verify.report import CheckKind, CheckStatus, Verdict, VerificationReport
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.issuance.card import Profile, build_chip, issue_card, sim_pki
from simulators.persona import make_persona

TRUST = TrustStore(parse_certificates(sim_pki().csca.der))

CCCD_2021 = [
    "00B09C00",  # EF.CardAccess, plain, by short EF identifier 1C
    "0022C1A4",  # PACE: MSE:Set AT, then four GENERAL AUTHENTICATE
    "10860000",
    "10860000",
    "10860000",
    "00860000",
    "0CA4040C",  # SELECT the eMRTD application
    "0CB09D00",  # EF.SOD (1D)
    "0CB08E00",  # DG14 (0E): the Chip Authentication key
    "0CB08100",  # DG1
    "0C2241A4",  # Chip Authentication: MSE:Set AT, GENERAL AUTHENTICATE
    "0C860000",
    "0CB08D00",  # DG13 (0D), the first command under the new keys: the proof
]
CAN_CUOC_2024 = [
    "00B09C00",
    "0022C1A4",  # PACE-CAM
    "10860000",
    "10860000",
    "10860000",
    "00860000",
    "0CB09D00",  # EF.CardSecurity (1D in the master file): the PACE-CAM key
    "0CA4040C",
    "0CB09D00",  # EF.SOD
    "0CB08100",  # DG1
    "0CB08D00",  # DG13
]


class Recorder:
    """The chip, keeping every command header (CLA INS P1 P2)."""

    def __init__(self, profile: Profile) -> None:
        self.card = issue_card(make_persona(7), profile)
        self.chip = build_chip(self.card)
        self.headers: list[str] = []

    @property
    def supports_extended_length(self) -> bool:
        return True

    def transmit(self, apdu: bytes) -> bytes:
        self.headers.append(apdu[:4].hex().upper())
        return self.chip.process(apdu)


@pytest.mark.parametrize(
    ("profile", "expected"),
    [(Profile.CCCD_2021, CCCD_2021), (Profile.CAN_CUOC_2024, CAN_CUOC_2024)],
    ids=lambda value: value.value if isinstance(value, Profile) else "",
)
def test_the_identity_phase_sends_exactly_the_floor(
    profile: Profile, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    link = Recorder(profile)
    calls: list[object] = []
    full = passive.passive_authentication

    def counted(*args: object, **kwargs: object) -> passive.PassiveResult:
        calls.append(args)
        return full(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("cardreader.verified_read.passive_authentication", counted)
    reader = VerifiedReader(link, Credentials(can=link.card.can), TRUST)
    identity = reader.read_identity()
    assert link.headers == expected
    assert identity.report.verdict is Verdict.VERIFIED
    assert Ef.DG15 not in reader.files and Ef.COM not in reader.files
    (aa,) = identity.report.of_kind(CheckKind.ACTIVE_AUTHENTICATION)
    assert aa.status is CheckStatus.NOT_SUPPORTED
    photo = reader.read_photo()
    assert link.headers[len(expected) :] == ["0CB08200"]  # DG2
    assert len(calls) == 1  # EF.SOD's signature verified once
    recomputed = full(dict(reader.files), TRUST, calls[0][2], calls[0][3])  # type: ignore[arg-type]
    assert photo.report == VerificationReport(
        photo.report.checks[: -len(recomputed.checks)] + recomputed.checks,
        findings=recomputed.findings,
    )
    assert photo.report.verdict is Verdict.VERIFIED


def test_dg15_is_read_when_active_authentication_runs() -> None:
    link = Recorder(Profile.CCCD_2021)
    reader = VerifiedReader(link, Credentials(can=link.card.can), TRUST, run_both=True)
    report = reader.read_identity().report
    assert link.headers[len(CCCD_2021) :] == ["0CB08F00", "0C880000"]  # DG15, INTERNAL AUTH.
    assert reader.files[Ef.DG15] == link.card.files[Ef.DG15.fid]
    (aa,) = report.of_kind(CheckKind.ACTIVE_AUTHENTICATION)
    assert aa.status is CheckStatus.PASSED
