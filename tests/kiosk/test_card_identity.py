"""The conversions from the chip to the kiosk (kiosk.card_pcsc): the chip's parse result
becomes the adapter's PatientIdentity, field by field, with the trust level of the chip's
verdict and the card's expiry beside it (identity_read); the read face becomes the image
the screen shows (displayable)."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import date

import pytest
from PIL import Image

from cardreader import (
    CardDate,
    CitizenIdentity,
    ParseError,
    PhotoResult,
    Source,
    Sourced,
    VerificationReport,
)
from cardreader import Sex as CardSex
from cardreader.lds.image import inspect_face
from hospital_adapter import BirthDate, IdentityTrust, InvalidInputError, PatientIdentity, Sex
from kiosk.card import CardInvalidError, IdentityRead, Trust
from kiosk.card_pcsc import displayable, identity_read
from tests.kiosk.fakes import HOA

ADDRESS = "Số 7 Lê Lợi, Phường Bến Nghé, Hồ Chí Minh"
CHIP = CitizenIdentity(
    id_number=Sourced("079185012345", Source.DG13),
    full_name=Sourced("Nguyễn Thị Hoa", Source.DG13),
    date_of_birth=Sourced(CardDate("15/03/1985", date(1985, 3, 15)), Source.DG13),
    birth_year=Sourced(1985, Source.ID_NUMBER),
    sex=Sourced(CardSex.FEMALE, Source.DG13),
    nationality=Sourced("Việt Nam", Source.DG13),
    ethnicity=None,
    religion=None,
    place_of_origin=None,
    place_of_residence=Sourced(ADDRESS, Source.DG13),
    identifying_marks=None,
    date_of_issue=None,
    date_of_expiry=Sourced(CardDate("15/03/2030", date(2030, 3, 15)), Source.DG13),
    father_name=None,
    mother_name=None,
    spouse_name=None,
    old_id_number=None,
    document_number=None,
    findings=(),
)


@pytest.mark.parametrize(
    ("trust", "level"),
    [
        (Trust.VERIFIED, IdentityTrust.CHIP),
        (Trust.UNTRUSTED, IdentityTrust.CHIP_UNTRUSTED),
        (Trust.INVALID, IdentityTrust.CHIP_UNTRUSTED),
    ],
)
def test_every_field_crosses_once_with_the_verdicts_trust(
    trust: Trust, level: IdentityTrust
) -> None:
    read = identity_read(CHIP, trust, "chain: unknown CSCA")
    assert read == IdentityRead(
        PatientIdentity(
            id_number="079185012345",
            full_name="Nguyễn Thị Hoa",
            date_of_birth=BirthDate(1985, 3, 15),
            sex=Sex.FEMALE,
            address=ADDRESS,
            trust=level,
        ),
        trust,
        "chain: unknown CSCA",
        date_of_expiry=date(2030, 3, 15),
    )
    assert read.identity == replace(HOA, trust=level)
    assert "079185012345" not in repr(read) and "Hoa" not in repr(read)
    assert "2030" not in repr(read) and "Lê Lợi" not in repr(read)


def test_a_year_only_birth_date_no_address_and_no_expiry() -> None:
    chip = replace(
        CHIP,
        date_of_birth=Sourced(CardDate("1985", None), Source.DG13),
        place_of_residence=None,
        date_of_expiry=Sourced(CardDate("Không thời hạn", None), Source.DG13),
    )
    read = identity_read(chip, Trust.VERIFIED)
    assert read.identity.date_of_birth == BirthDate(1985)
    assert (read.identity.address, read.date_of_expiry, read.detail) == ("", None, "")


def test_missing_or_contradicting_fields_never_reach_the_hospital() -> None:
    with pytest.raises(ParseError):
        identity_read(replace(CHIP, full_name=None), Trust.VERIFIED)
    with pytest.raises(ParseError):
        identity_read(replace(CHIP, date_of_birth=None, birth_year=None), Trust.VERIFIED)
    wrong_year = Sourced(CardDate("01/01/1990", date(1990, 1, 1)), Source.DG13)
    with pytest.raises(InvalidInputError):
        identity_read(replace(CHIP, date_of_birth=wrong_year), Trust.VERIFIED)


def test_a_forged_card_is_refused_for_its_verdict_before_its_fields() -> None:
    wrong_year = Sourced(CardDate("01/01/1990", date(1990, 1, 1)), Source.DG13)
    with pytest.raises(CardInvalidError, match="verification failed and"):
        identity_read(replace(CHIP, date_of_birth=wrong_year), Trust.INVALID)
    with pytest.raises(CardInvalidError):
        identity_read(replace(CHIP, full_name=None), Trust.INVALID)
    with pytest.raises(InvalidInputError):  # verified or merely untrusted: the fields speak
        identity_read(replace(CHIP, date_of_birth=wrong_year), Trust.UNTRUSTED)


def test_the_record_and_the_verdict_cannot_disagree() -> None:
    with pytest.raises(ValueError, match="trust"):
        IdentityRead(replace(HOA, trust=IdentityTrust.CHIP), Trust.UNTRUSTED)
    with pytest.raises(ValueError, match="trust"):
        IdentityRead(replace(HOA, trust=IdentityTrust.QR), Trust.VERIFIED)


def _jpeg(size: tuple[int, int]) -> bytes:
    image = Image.new("RGB", size)
    image.putdata([(i * 7 % 256, i * 13 % 256, i * 29 % 256) for i in range(size[0] * size[1])])
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_the_read_face_is_decoded_for_display_on_the_card_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    face = _jpeg((30, 40))
    report = VerificationReport(())
    assert displayable(PhotoResult(inspect_face(face), report)) is face  # Qt loads the JPEG
    cut = face[:-200]  # its header whole, its pixels cut: refused when decoded
    with caplog.at_level(logging.INFO, logger="kiosk.card_pcsc"):
        assert displayable(PhotoResult(inspect_face(cut), report)) is None
        assert displayable(PhotoResult(None, report, "DG2 holds no face image")) is None
    assert [r.getMessage() for r in caplog.records] == [
        "no photo: the face image cannot be shown: the JPEG face image cannot be decoded:"
        " image file is truncated (91 bytes not processed)",
        "no photo: DG2 holds no face image",
    ]
