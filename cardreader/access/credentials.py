"""Access credentials for a CCCD chip: the CAN for PACE and MRZ keys for BAC/PACE.

From a 12-digit ID number the CAN is its last 6 digits and the BAC document number its last
9 digits; the expiry date needed by BAC is derived from birth and issue dates by the age
rules of docs/domain.md §2 (cards change at the 25th, 40th and 60th birthday, the 2024 law adds
the 14th; issued within 2 years before a milestone → valid to the next; at 58 or older →
no expiry). Every plausible candidate is kept, most likely first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from cardreader.errors import ParseError
from cardreader.idnumber import IdNumber, parse_id_number
from cardreader.mrz import Mrz, bac_information
from cardreader.qr import CccdQr

MILESTONES_2014_LAW = (25, 40, 60)
MILESTONES_2023_LAW = (14, 25, 40, 60)
GRACE_YEARS = 2
NO_EXPIRY_AGE = 58


@dataclass(frozen=True, slots=True)
class MrzKey:
    """Document number, birth and expiry dates (YYMMDD): the BAC and PACE-MRZ password."""

    document_number: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    date_of_expiry: str = field(repr=False)

    def __post_init__(self) -> None:
        bac_information(self.document_number, self.date_of_birth, self.date_of_expiry)

    @property
    def mrz_information(self) -> str:
        return bac_information(self.document_number, self.date_of_birth, self.date_of_expiry)

    @classmethod
    def from_mrz(cls, mrz: Mrz) -> MrzKey:
        return cls(mrz.document_number, mrz.date_of_birth, mrz.date_of_expiry)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a reader may try, in order: the CAN (PACE) and MRZ key candidates (PACE/BAC)."""

    can: str | None = field(default=None, repr=False)
    mrz_keys: tuple[MrzKey, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.can is not None and not re.fullmatch(r"\d{6}", self.can):
            raise ParseError("a CAN has exactly 6 digits")
        if self.can is None and not self.mrz_keys:
            raise ParseError("no access credential: give a CAN, an MRZ or an ID number")


def _birthday(born: date, age: int) -> date:
    year = born.year + age
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def expiry_for(born: date, issued: date, milestones: tuple[int, ...]) -> date | None:
    """The expiry under one law's milestones; None for a card without expiry."""
    for milestone in milestones:
        if issued < _birthday(born, milestone - GRACE_YEARS):
            return _birthday(born, milestone)
    return None


def expiry_candidates(born: date, issued: date) -> list[date]:
    """Expiry dates a card of someone born on ``born`` issued on ``issued`` may carry."""
    out: list[date] = []
    for milestones in (MILESTONES_2014_LAW, MILESTONES_2023_LAW):
        expiry = expiry_for(born, issued, milestones)
        if expiry is not None and expiry not in out:
            out.append(expiry)
    return out


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def credentials_from_id(
    id_number: IdNumber | str,
    date_of_birth: date | None = None,
    date_of_issue: date | None = None,
) -> Credentials:
    """CAN from the ID number, plus BAC candidates when birth and issue dates are known."""
    number = parse_id_number(id_number) if isinstance(id_number, str) else id_number
    keys: tuple[MrzKey, ...] = ()
    if date_of_birth is not None and date_of_issue is not None:
        if date_of_birth.year != number.birth_year:
            raise ParseError("the birth year does not match the ID number's digits")
        keys = tuple(
            MrzKey(number.bac_document_number, _yymmdd(date_of_birth), _yymmdd(expiry))
            for expiry in expiry_candidates(date_of_birth, date_of_issue)
        )
    return Credentials(can=number.can, mrz_keys=keys)


def credentials_from_qr(qr: CccdQr) -> Credentials:
    """Credentials from the front QR: CAN always, BAC keys when the issue date is there."""
    return credentials_from_id(qr.id_number, qr.date_of_birth, qr.date_of_issue)
