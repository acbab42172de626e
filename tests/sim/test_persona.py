"""Personas: the issuer's facts agree with what the reader derives from them."""

from __future__ import annotations

import pytest

from cardreader.access.credentials import credentials_from_qr
from cardreader.idnumber import Sex as IdSex
from cardreader.idnumber import parse_id_number
from cardreader.mrz import parse_mrz
from cardreader.qr import parse_cccd_qr
from simulators.issuance.lds import td1_mrz
from simulators.persona import CardKind, Sex, ascii_name, make_persona, qr_payload

SEEDS = range(300)


def test_same_seed_same_person() -> None:
    assert make_persona(7) == make_persona(7)
    assert make_persona(7) != make_persona(8)


@pytest.mark.parametrize("seed", SEEDS)
def test_id_number_digits_agree_with_the_person(seed: int) -> None:
    persona = make_persona(seed)
    number = parse_id_number(persona.id_number)
    assert number.birth_year == persona.date_of_birth.year
    assert number.sex is (IdSex.MALE if persona.sex is Sex.MALE else IdSex.FEMALE)
    assert persona.age_on(persona.date_of_issue) >= (
        14 if persona.card_kind is CardKind.CCCD_2021 else 0
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_reader_finds_the_bac_key_from_the_qr(seed: int) -> None:
    """The reader's expiry candidates (from birth and issue dates) include the card's MRZ key."""
    persona = make_persona(seed)
    qr = parse_cccd_qr(qr_payload(persona))
    assert qr.full_name == persona.full_name
    credentials = credentials_from_qr(qr)
    assert credentials.can == persona.id_number[-6:]
    mrz = parse_mrz(td1_mrz(persona))
    assert mrz.valid
    if persona.date_of_expiry is None:
        assert credentials.mrz_keys == ()
    else:
        assert mrz.bac_information in [key.mrz_information for key in credentials.mrz_keys]


def test_ascii_name_for_the_mrz() -> None:
    assert ascii_name("Đặng Thị Hoà") == "DANG THI HOA"
    assert ascii_name("Nguyễn Hữu Đức") == "NGUYEN HUU DUC"
