"""The identity record, ID number structure (docs/domain.md §2), BHYT numbers and QR (§3)."""

from __future__ import annotations

from datetime import date

import pytest

from hospital_adapter.bhyt import BhytNumber, parse_bhyt_qr
from hospital_adapter.errors import BhytQrError, InvalidInputError
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex, check_id_number


def test_id_number_structure_is_checked_against_birth_year_and_sex() -> None:
    assert check_id_number("079203001234", birth_year=2003, sex=Sex.MALE) == "079203001234"
    assert check_id_number("001190001234", birth_year=1990, sex=Sex.FEMALE) == "001190001234"
    with pytest.raises(InvalidInputError, match="birth year"):
        check_id_number("079203001234", birth_year=1903)
    with pytest.raises(InvalidInputError, match="sex digit"):
        check_id_number("079203001234", sex=Sex.FEMALE)
    # A birth registered abroad carries a country code, not a province (docs/domain.md §2.6).
    for prefix in ("000", "097", "704", "999"):
        assert check_id_number(prefix + "203001234", birth_year=2003) == prefix + "203001234"
    with pytest.raises(InvalidInputError, match="12 digits"):
        check_id_number("07920300123")


def test_identity_hides_personal_fields_from_repr() -> None:
    identity = PatientIdentity("079203001234", "Nguyễn Văn An", BirthDate(2003, 5, 1), Sex.MALE)
    text = repr(identity)
    assert "079203001234" not in text and "Nguyễn" not in text
    assert text == "PatientIdentity(sex=<Sex.MALE: 'Nam'>, trust=<IdentityTrust.TYPED: 'typed'>)"


def test_identity_rejects_control_characters_and_mismatched_id() -> None:
    with pytest.raises(InvalidInputError) as info:
        PatientIdentity("079203001234", "An\r\nPID|x", BirthDate(2003), Sex.MALE)
    assert info.value.field == "full name"
    with pytest.raises(InvalidInputError):
        PatientIdentity("079203001234", "An", BirthDate(1990, 1, 1), Sex.MALE)


def test_birth_date_formats() -> None:
    assert BirthDate.parse("05/01/2003") == BirthDate(2003, 1, 5)
    assert BirthDate.parse("1950").gateway_format() == "1950"
    assert BirthDate(2003, 1, 5).gateway_format() == "05/01/2003"
    assert BirthDate(2003, 1, 5).compact() == "20030105"
    assert BirthDate(1950).compact() == "19500000"
    for bad in ("31/02/2000", "2000-01-01", "", "1/1/2000"):
        with pytest.raises(InvalidInputError):
            BirthDate.parse(bad)


def test_bhyt_number_parse_and_validation() -> None:
    number = BhytNumber.parse("dn4797912345678")
    assert number == BhytNumber("DN", 4, "79", "7912345678")
    assert str(number) == "DN4797912345678"
    for bad in ("DN6797912345678", "D14797912345678", "DN479791234567", "DN47979123456789"):
        with pytest.raises(InvalidInputError, match="BHYT number"):
            BhytNumber.parse(bad)


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


QR = (
    f"HC4797912345678|{_hex('Nguyễn Thị Hoa')}|07/03/1985|2|{_hex('12 Lê Lợi, Quận 1')}"
    "|79 - 024|01/01/2025|31/12/2025|01/01/2025|abc|4$"
)


def test_bhyt_qr_parses_every_field() -> None:
    data = parse_bhyt_qr(QR)
    assert data.card_number == BhytNumber("HC", 4, "79", "7912345678")
    assert data.full_name == "Nguyễn Thị Hoa"
    assert data.date_of_birth == BirthDate(1985, 3, 7)
    assert data.sex is Sex.FEMALE
    assert data.address == "12 Lê Lợi, Quận 1"
    assert data.primary_care_facility == "79024"
    assert (data.valid_from, data.valid_to) == (date(2025, 1, 1), date(2025, 12, 31))
    assert "Hoa" not in repr(data)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("HC4797912345678|00", "at least 8 fields"),
        (QR.replace("|2|", "|3|"), "sex must be 1 or 2"),
        (QR.replace(_hex("Nguyễn Thị Hoa"), "zz"), "hex-encoded UTF-8"),
        (QR.replace("31/12/2025", "2025-12-31"), "dd/mm/yyyy"),
        (QR.replace("HC4", "HC9"), "benefit level"),
        (QR.replace("31/12/2025", "31/12/2024"), "ends before"),
        ("|" * 3000, "longer than 2048"),
    ],
)
def test_bhyt_qr_rejects_malformed_payloads(payload: str, reason: str) -> None:
    with pytest.raises(BhytQrError, match=reason):
        parse_bhyt_qr(payload)
