"""PACE first, BAC fallback, and the access report (ICAO 9303-11 §4.2) on the sample chip."""

from __future__ import annotations

import pytest

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.access.strategy import AccessMethod
from cardreader.errors import AccessDeniedError, CardRemovedError, WrongPasswordError
from cardreader.files.ids import Ef
from cardreader.read import read_card
from simulators.chip.pace import ChipPace, Offer
from simulators.chip.sample import (
    BRAINPOOL_P256R1,
    PACE_ECDH_GM_AES_128,
    SampleCard,
    sample_chip,
    sample_files,
)
from simulators.inprocess import InProcessTransport

CARD = SampleCard()
MRZ_KEY = MrzKey(CARD.document_number, CARD.date_of_birth, CARD.date_of_expiry)
WRONG_KEY = MrzKey(CARD.document_number, CARD.date_of_birth, "300315")
FILES = sample_files(CARD)
READ = (Ef.COM, Ef.DG1, Ef.DG2, Ef.DG3)


def test_pace_with_the_can_reads_every_file() -> None:
    result = read_card(InProcessTransport(sample_chip()), Credentials(can=CARD.can), READ)
    assert result.access.method is AccessMethod.PACE
    assert result.access.protocol == "id-PACE-ECDH-GM-AES-CBC-CMAC-128"
    assert (result.access.password, result.access.parameter_id) == ("CAN", 13)
    assert not result.access.downgraded and result.access.fallback_reason is None
    assert result.files[Ef.DG1] == FILES[0x0101]
    assert result.files[Ef.DG2] == FILES[0x0102]
    assert result.card_access == FILES[0x011C]
    assert result.absent == (Ef.DG3,)


def test_pace_with_the_mrz_when_no_can_is_known() -> None:
    result = read_card(InProcessTransport(sample_chip()), Credentials(mrz_keys=(MRZ_KEY,)), READ)
    assert (result.access.method, result.access.password) == (AccessMethod.PACE, "MRZ")


def test_wrong_can_falls_back_to_bac_and_reports_the_downgrade() -> None:
    chip = sample_chip()
    chip.pace = ChipPace([Offer(PACE_ECDH_GM_AES_128, BRAINPOOL_P256R1)], can=CARD.can)
    creds = Credentials(can="000000", mrz_keys=(WRONG_KEY, MRZ_KEY))
    result = read_card(InProcessTransport(chip), creds, READ)
    access = result.access
    assert access.method is AccessMethod.BAC and access.downgraded
    assert access.fallback_reason is not None and access.fallback_reason.startswith("PACE failed")
    assert [a.split(":")[0] for a in access.attempts] == [
        "PACE-CAN",
        "PACE-MRZ",
        "PACE-MRZ",
        "BAC candidate 1",
        "BAC candidate 2",
    ]
    assert result.files[Ef.DG1] == FILES[0x0101]


def test_chip_without_pace_opens_with_bac_without_a_downgrade() -> None:
    creds = Credentials(can=CARD.can, mrz_keys=(MRZ_KEY,))
    result = read_card(InProcessTransport(sample_chip(pace=False)), creds, READ)
    assert result.access.method is AccessMethod.BAC
    assert not result.access.downgraded
    assert (
        result.access.fallback_reason == "the chip has no EF.CardAccess, so it does not offer PACE"
    )


def test_a_wrong_can_alone_is_a_wrong_password() -> None:
    with pytest.raises(WrongPasswordError) as info:
        read_card(InProcessTransport(sample_chip()), Credentials(can="000000"), READ)
    assert (info.value.method, info.value.password, info.value.reason) == (
        "PACE",
        "CAN",
        "wrong CAN (the chip refused it)",
    )
    assert "000000" not in str(info.value)


def test_no_working_credential_is_access_denied_listing_attempts() -> None:
    creds = Credentials(can="000000", mrz_keys=(WRONG_KEY,))
    with pytest.raises(AccessDeniedError) as info:
        read_card(InProcessTransport(sample_chip()), creds, READ)
    assert type(info.value) is AccessDeniedError
    assert info.value.method == "PACE/BAC"
    for attempt in (
        "PACE-CAN: wrong CAN (the chip refused it)",
        "PACE-MRZ: wrong MRZ (the chip refused it)",
        "BAC candidate 1: ",
    ):
        assert attempt in info.value.reason
    assert "000000" not in str(info.value)


def test_bac_fallback_can_be_forbidden() -> None:
    creds = Credentials(can="000000", mrz_keys=(WRONG_KEY,))
    with pytest.raises(AccessDeniedError) as info:
        read_card(InProcessTransport(sample_chip()), creds, READ, allow_bac=False)
    assert info.value.method == "PACE"


@pytest.mark.parametrize("remove_at", [1, 3, 6, 9, 11])
def test_card_pulled_at_any_step_gives_card_removed(remove_at: int) -> None:
    with pytest.raises(CardRemovedError):
        read_card(
            InProcessTransport(sample_chip(), remove_at=remove_at), Credentials(can=CARD.can), READ
        )
