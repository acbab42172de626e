"""ID number, front QR and access credentials (docs/domain.md §2)."""

from __future__ import annotations

from datetime import date

import pytest

from cardreader.access.credentials import (
    Credentials,
    MrzKey,
    credentials_from_id,
    credentials_from_qr,
    expiry_candidates,
)
from cardreader.errors import ParseError
from cardreader.idnumber import Sex, parse_id_number
from cardreader.qr import parse_cccd_qr

QR = (
    "\ufeff079185012345|272727272|Nguyễn Thị Hoà|15031985|Nữ"
    "|12 Lê Lợi, Bến Nghé, Quận 1, TP Hồ Chí Minh|20042021"
)


def test_id_number_digits_decode_province_sex_and_year() -> None:
    number = parse_id_number("079185012345")
    assert (number.province_code, number.sex, number.birth_year) == ("079", Sex.FEMALE, 1985)
    assert number.can == "012345"
    assert number.bac_document_number == "185012345"
    assert "012345" not in repr(number)
    assert parse_id_number("001203000001").birth_year == 2003
    assert parse_id_number("001203000001").sex is Sex.MALE


@pytest.mark.parametrize("prefix", ["001", "002", "096", "097", "000", "704", "840", "999"])
def test_every_three_digit_prefix_is_accepted(prefix: str) -> None:
    # Province codes 001-096, or a country code for a birth registered abroad (docs/domain.md §2.6).
    number = parse_id_number(prefix + "185012345")
    assert (number.province_code, number.birth_year) == (prefix, 1985)


@pytest.mark.parametrize("bad", ["07918501234", "0791850123456", "00018501234x"])
def test_bad_id_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ParseError):
        parse_id_number(bad)


def test_qr_parses_with_bom_and_diacritics() -> None:
    qr = parse_cccd_qr(QR.encode("utf-8"))
    assert qr.id_number.value == "079185012345"
    assert qr.old_id_number == "272727272"
    assert qr.full_name == "Nguyễn Thị Hoà"
    assert qr.date_of_birth == date(1985, 3, 15)
    assert qr.sex == "Nữ"
    assert qr.date_of_issue == date(2021, 4, 20)
    assert "Hoà" not in repr(qr) and "Lê Lợi" not in repr(qr)


@pytest.mark.parametrize(
    "bad",
    [b"\xff\xfe", "079185012345|", "079185012345||A|31021985|Nam|x|01012021", "|" * 40],
)
def test_malformed_qr_raises_parse_error(bad: str | bytes) -> None:
    with pytest.raises(ParseError):
        parse_cccd_qr(bad)


@pytest.mark.parametrize(
    ("born", "issued", "expected"),
    [
        (date(1985, 3, 15), date(2021, 4, 20), [date(2025, 3, 15)]),  # 36: to the 40th
        (date(1998, 6, 1), date(2021, 1, 1), [date(2023, 6, 1)]),  # 22y7m: to the 25th
        (date(1998, 6, 1), date(2021, 7, 1), [date(2038, 6, 1)]),  # 23y1m: within 2y of 25
        (date(2000, 6, 1), date(2021, 1, 1), [date(2025, 6, 1)]),  # 20: to the 25th
        (date(1962, 1, 1), date(2021, 1, 1), []),  # 59: no expiry
        (date(2010, 5, 5), date(2024, 8, 1), [date(2035, 5, 5)]),  # 14: same under both laws
        (date(2011, 5, 5), date(2024, 8, 1), [date(2036, 5, 5)]),  # within 2y of 14
        (date(2015, 1, 1), date(2024, 8, 1), [date(2040, 1, 1), date(2029, 1, 1)]),  # laws differ
    ],
)
def test_expiry_rules(born: date, issued: date, expected: list[date]) -> None:
    assert expiry_candidates(born, issued) == expected


def test_credentials_from_qr_give_can_and_bac_keys() -> None:
    creds = credentials_from_qr(parse_cccd_qr(QR))
    assert creds.can == "012345"
    assert creds.mrz_keys == (MrzKey("185012345", "850315", "250315"),)
    assert creds.mrz_keys[0].mrz_information == "1850123459" + "8503150" + "2503158"
    assert "012345" not in repr(creds)


def test_credentials_need_something() -> None:
    with pytest.raises(ParseError):
        Credentials()
    with pytest.raises(ParseError, match="birth year"):
        credentials_from_id("079185012345", date(1986, 3, 15), date(2021, 4, 20))
