"""The citizen's identity merged from DG13, DG1 and the 12-digit ID number (docs/domain.md §2).

Every field says where it came from. The chip comes first: DG13 (names with diacritics,
full dates), then DG1 (the ASCII MRZ), then what the ID number's digits encode; the
unsigned front QR code only fills what the chip leaves out. Cross-checks between the
sources become human-readable findings, which name fields but never their values; they
never raise. Personal values are hidden from ``repr``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Generic, TypeVar

from cardreader.errors import ParseError
from cardreader.idnumber import ID_LENGTH, IdNumber, Sex, parse_id_number
from cardreader.lds.dg13 import CardDate, Dg13, sex_from_text
from cardreader.mrz import FILLER, Mrz, MrzFormat, check_digit
from cardreader.qr import CccdQr

T = TypeVar("T")

VIETNAM = "VNM"
MRZ_SEXES: Mapping[str, Sex] = MappingProxyType({"M": Sex.MALE, "F": Sex.FEMALE})
"""Sex in the MRZ (ICAO 9303-3 §4.2.2); ``<`` or ``X`` is unspecified."""
EXPIRY_CENTURY = 2000
"""MRZ expiry dates of the CCCD (issued since 2016) all fall in this century."""
_MRZ_DATE = re.compile(r"\d{6}")
_WORD = re.compile(r"[A-Z0-9]+")


class Source(enum.Enum):
    """Where a field's value came from."""

    DG13 = "DG13"
    DG1 = "DG1"
    ID_NUMBER = "ID number"
    QR = "QR"


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A value and its source; the value is hidden from ``repr``."""

    value: T = field(repr=False)
    source: Source


@dataclass(frozen=True, slots=True)
class CitizenIdentity:
    """What the card says about its holder, field by field, with the cross-check findings."""

    id_number: Sourced[str] | None
    full_name: Sourced[str] | None
    date_of_birth: Sourced[CardDate] | None
    birth_year: Sourced[int] | None
    sex: Sourced[Sex] | None
    nationality: Sourced[str] | None
    ethnicity: Sourced[str] | None
    religion: Sourced[str] | None
    place_of_origin: Sourced[str] | None
    place_of_residence: Sourced[str] | None
    identifying_marks: Sourced[str] | None
    date_of_issue: Sourced[CardDate] | None
    date_of_expiry: Sourced[CardDate] | None
    father_name: Sourced[str] | None
    mother_name: Sourced[str] | None
    spouse_name: Sourced[str] | None
    old_id_number: Sourced[str] | None
    document_number: Sourced[str] | None
    findings: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        """True when no cross-check found a mismatch."""
        return not self.findings


def _first(*candidates: tuple[T | None, Source]) -> Sourced[T] | None:
    return next((Sourced(value, source) for value, source in candidates if value is not None), None)


def _mrz_id_number(mrz: Mrz | None) -> str | None:
    """The 12-digit ID number the CCCD's TD1 carries in optional data 1 (docs/domain.md §2)."""
    if mrz is None or mrz.format is not MrzFormat.TD1:
        return None
    candidate = mrz.optional_data_1[:ID_LENGTH]
    return candidate if len(candidate) == ID_LENGTH and candidate.isdigit() else None


def _mrz_date(text: str, century: int | None) -> CardDate:
    """A YYMMDD date of the MRZ, with a value only when the century is known."""
    value = None
    if century is not None and _MRZ_DATE.fullmatch(text):
        try:
            value = date(century + int(text[:2]), int(text[2:4]), int(text[4:]))
        except ValueError:
            value = None
    return CardDate(text, value)


def ascii_name(name: str) -> str:
    """A Vietnamese name as the MRZ writes it: without diacritics, upper case, one space."""
    decomposed = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    folded = "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
    return " ".join(_WORD.findall(folded))


def _text(value: str | None) -> str | None:
    stripped = None if value is None else value.strip()
    return stripped or None


def _check_ids(
    dg13_id: str | None, mrz_id: str | None, expected: str | None, qr: CccdQr | None
) -> list[str]:
    findings = []
    if dg13_id is not None and mrz_id is not None and dg13_id != mrz_id:
        findings.append("the ID number in DG13 differs from the one in the MRZ (DG1)")
    chip_id = dg13_id or mrz_id
    if chip_id is None:
        if expected is not None:
            findings.append("the chip shows no ID number to compare with the expected one")
        return findings
    if expected is not None and expected.strip() != chip_id:
        findings.append("the card's ID number differs from the expected ID number")
    if qr is not None and qr.id_number.value != chip_id:
        findings.append("the QR code's ID number differs from the chip's")
    return findings


def _check_mrz(mrz: Mrz, id_number: str | None) -> list[str]:
    findings = [
        f"MRZ check digit of the {check.name} does not match"
        for check in mrz.check_digits
        if not check.valid
    ]
    if _mrz_id_number(mrz) is not None:
        printed = mrz.optional_data_1[ID_LENGTH + 2 : ID_LENGTH + 3]
        if printed and printed != check_digit(mrz.optional_data_1[:ID_LENGTH]):
            findings.append("MRZ check digit of the ID number in optional data does not match")
    vietnamese = id_number is not None and mrz.issuing_state == VIETNAM
    if vietnamese and id_number is not None and mrz.document_number != id_number[-9:]:
        findings.append("the MRZ document number is not the last 9 digits of the ID number")
    return findings


def _check_sex(dg13_sex: Sex | None, mrz_sex: Sex | None, parsed: IdNumber | None) -> list[str]:
    findings = []
    if dg13_sex is not None and mrz_sex is not None and dg13_sex is not mrz_sex:
        findings.append("the sex in DG13 differs from the MRZ")
    if parsed is not None:
        findings.extend(
            f"the sex in {source.value} differs from what the ID number encodes"
            for sex, source in ((dg13_sex, Source.DG13), (mrz_sex, Source.DG1))
            if sex is not None and sex is not parsed.sex
        )
    return findings


def _yymmdd_prefix(birth: CardDate) -> str | None:
    """What a DG13 birth date fixes of the MRZ's YYMMDD: all six digits or the year's two."""
    if birth.value is not None:
        return birth.value.strftime("%y%m%d")
    return None if birth.year is None else f"{birth.year % 100:02d}"


def _check_birth(
    dg13_birth: CardDate | None,
    mrz_birth: str | None,
    parsed: IdNumber | None,
) -> list[str]:
    findings = []
    dg13_year = None if dg13_birth is None else dg13_birth.year
    if parsed is not None and dg13_year is not None and dg13_year != parsed.birth_year:
        findings.append("the birth year in DG13 differs from what the ID number encodes")
    mrz_yymmdd = mrz_birth if mrz_birth is not None and _MRZ_DATE.fullmatch(mrz_birth) else None
    id_yy = None if parsed is None else f"{parsed.birth_year % 100:02d}"
    if id_yy is not None and mrz_yymmdd is not None and mrz_yymmdd[:2] != id_yy:
        findings.append("the birth year in the MRZ differs from what the ID number encodes")
    prefix = None if dg13_birth is None else _yymmdd_prefix(dg13_birth)
    if prefix is not None and mrz_yymmdd is not None and not mrz_yymmdd.startswith(prefix):
        findings.append("the date of birth in DG13 differs from the MRZ")
    return findings


def _check_name(dg13_name: str | None, mrz: Mrz | None) -> list[str]:
    """The DG13 name without diacritics must be the MRZ name (or extend a truncated one)."""
    if dg13_name is None or mrz is None:
        return []
    mrz_name = " ".join(_WORD.findall(f"{mrz.primary_identifier} {mrz.secondary_identifier}"))
    names_line = mrz.text.splitlines()[2 if mrz.format is MrzFormat.TD1 else 0]
    folded = ascii_name(dg13_name)
    truncated = not names_line.endswith(FILLER)
    matches = folded.startswith(mrz_name) if truncated else folded == mrz_name
    return [] if matches or not mrz_name else ["the name in DG13 does not match the MRZ name"]


def _qr_date(value: date | None) -> CardDate | None:
    return None if value is None else CardDate(value.strftime("%d/%m/%Y"), value)


def _merge_sex(
    d13: Dg13, dg1: Mrz | None, qr: CccdQr | None, parsed: IdNumber | None, findings: list[str]
) -> Sourced[Sex] | None:
    dg13_sex = None if d13.sex is None else sex_from_text(d13.sex)
    if d13.sex is not None and dg13_sex is None:
        findings.append("the sex in DG13 is neither Nam nor Nữ")
    mrz_sex = None if dg1 is None else MRZ_SEXES.get(dg1.sex)
    findings.extend(_check_sex(dg13_sex, mrz_sex, parsed))
    return _first(
        (dg13_sex, Source.DG13),
        (mrz_sex, Source.DG1),
        (None if parsed is None else parsed.sex, Source.ID_NUMBER),
        (None if qr is None else sex_from_text(qr.sex), Source.QR),
    )


def _merge_birth(
    d13: Dg13, dg1: Mrz | None, qr: CccdQr | None, parsed: IdNumber | None, findings: list[str]
) -> tuple[Sourced[CardDate] | None, Sourced[int] | None]:
    """Date of birth (MRZ dates get their century from the ID number) and birth year."""
    century = None if parsed is None else parsed.birth_year - parsed.birth_year % 100
    date_of_birth = _first(
        (d13.date_of_birth, Source.DG13),
        (None if dg1 is None else _mrz_date(dg1.date_of_birth, century), Source.DG1),
        (None if qr is None else _qr_date(qr.date_of_birth), Source.QR),
    )
    mrz_birth = None if dg1 is None else dg1.date_of_birth
    findings.extend(_check_birth(d13.date_of_birth, mrz_birth, parsed))
    chip_birth = (
        None
        if date_of_birth is None or date_of_birth.source is Source.QR
        else date_of_birth.value.value
    )
    if qr is not None and chip_birth is not None and qr.date_of_birth != chip_birth:
        findings.append("the QR code's date of birth differs from the chip's")
    if date_of_birth is not None and date_of_birth.value.year is not None:
        return date_of_birth, Sourced(date_of_birth.value.year, date_of_birth.source)
    if parsed is not None:
        return date_of_birth, Sourced(parsed.birth_year, Source.ID_NUMBER)
    return date_of_birth, None


def merge_identity(
    *,
    dg1: Mrz | None = None,
    dg13: Dg13 | None = None,
    expected_id_number: str | None = None,
    qr: CccdQr | None = None,
) -> CitizenIdentity:
    """Merge what the chip (and, as a last resort, the QR code) says; cross-check it all.

    ``expected_id_number`` (typed by staff, or from a booking) is only compared, never
    used as a value.
    """
    d13 = dg13 or Dg13()
    dg13_id, mrz_id = _text(d13.id_number), _mrz_id_number(dg1)
    qr_id = None if qr is None else qr.id_number.value
    id_number = _first((dg13_id, Source.DG13), (mrz_id, Source.DG1), (qr_id, Source.QR))
    findings = _check_ids(dg13_id, mrz_id, expected_id_number, qr)
    parsed: IdNumber | None = None
    if id_number is not None:
        try:
            parsed = parse_id_number(id_number.value)
        except ParseError as exc:
            findings.append(f"the ID number from {id_number.source.value} is not valid: {exc}")
    if dg1 is not None:
        findings.extend(_check_mrz(dg1, None if id_number is None else id_number.value))

    sex = _merge_sex(d13, dg1, qr, parsed, findings)
    date_of_birth, birth_year = _merge_birth(d13, dg1, qr, parsed, findings)
    findings.extend(_check_name(d13.full_name, dg1))
    mrz_name = mrz_nationality = mrz_expiry = document_number = None
    if dg1 is not None:
        mrz_name = _text(f"{dg1.primary_identifier} {dg1.secondary_identifier}")
        mrz_nationality = _text(dg1.nationality)
        mrz_expiry = _mrz_date(dg1.date_of_expiry, EXPIRY_CENTURY)
        document_number = _text(dg1.document_number)
    qr_name = qr_address = qr_old_id = qr_issue = None
    if qr is not None:
        qr_name, qr_address = _text(qr.full_name), _text(qr.address)
        qr_old_id, qr_issue = _text(qr.old_id_number), _qr_date(qr.date_of_issue)
    return CitizenIdentity(
        id_number=id_number,
        full_name=_first(
            (d13.full_name, Source.DG13), (mrz_name, Source.DG1), (qr_name, Source.QR)
        ),
        date_of_birth=date_of_birth,
        birth_year=birth_year,
        sex=sex,
        nationality=_first((d13.nationality, Source.DG13), (mrz_nationality, Source.DG1)),
        ethnicity=_first((d13.ethnicity, Source.DG13)),
        religion=_first((d13.religion, Source.DG13)),
        place_of_origin=_first((d13.place_of_origin, Source.DG13)),
        place_of_residence=_first((d13.place_of_residence, Source.DG13), (qr_address, Source.QR)),
        identifying_marks=_first((d13.identifying_marks, Source.DG13)),
        date_of_issue=_first((d13.date_of_issue, Source.DG13), (qr_issue, Source.QR)),
        date_of_expiry=_first((d13.date_of_expiry, Source.DG13), (mrz_expiry, Source.DG1)),
        father_name=_first((d13.father_name, Source.DG13)),
        mother_name=_first((d13.mother_name, Source.DG13)),
        spouse_name=_first((d13.spouse_name, Source.DG13)),
        old_id_number=_first((d13.old_id_number, Source.DG13), (qr_old_id, Source.QR)),
        document_number=_first((document_number, Source.DG1)),
        findings=tuple(findings),
    )
