"""The 12-digit personal ID number (số định danh cá nhân), docs/domain.md §2.

3 digits where the birth was registered + 1 digit for century and sex + 2 digits of birth
year + 6 random digits. The CAN used for PACE is its last 6 digits. The first three digits
are one of the 63 province codes between 001 and 096 or, for a birth registered abroad, a
country code whose list was not found (docs/domain.md §2.6, [open]): every three-digit
prefix is accepted, so that no citizen born abroad is refused.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from cardreader.errors import ParseError

ID_LENGTH = 12
FIRST_CENTURY = 1900


class Sex(enum.Enum):
    """Sex as encoded in the ID number and printed on the card (Nam / Nữ)."""

    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A checked 12-digit ID number with the facts its digits encode."""

    value: str
    province_code: str
    sex: Sex
    birth_year: int

    @property
    def can(self) -> str:
        """The card access number: the last 6 digits (docs/domain.md §2)."""
        return self.value[-6:]

    @property
    def bac_document_number(self) -> str:
        """The document number used by BAC: the last 9 digits (docs/domain.md §2)."""
        return self.value[-9:]

    def __repr__(self) -> str:
        return f"IdNumber(province_code={self.province_code!r}, ...)"


def parse_id_number(text: str) -> IdNumber:
    """Check ``text`` and decode province, sex and birth year from its digits."""
    value = text.strip()
    if not re.fullmatch(r"\d{12}", value):
        raise ParseError("an ID number has exactly 12 digits")
    province = value[:3]
    gender_century = int(value[3])
    century = FIRST_CENTURY + 100 * (gender_century // 2)
    sex = Sex.MALE if gender_century % 2 == 0 else Sex.FEMALE
    return IdNumber(value, province, sex, century + int(value[4:6]))
