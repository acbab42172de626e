"""The plain identity record the adapter takes, and checks on the 12-digit ID number.

The adapter never sees a card object: the kiosk maps what the chip proved (DG13,
docs/domain.md §2) into a :class:`PatientIdentity`. Personal fields are left out of ``repr``
so that an identity logged by mistake leaks nothing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date

from hospital_adapter.errors import InvalidInputError

_ID_RE = re.compile(r"[0-9]{12}")
_BHXH_RE = re.compile(r"[0-9]{10}")
_FULL_DATE_RE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_YEAR_RE = re.compile(r"[0-9]{4}")
MAX_NAME_LENGTH = 100
MAX_ADDRESS_LENGTH = 300


class Sex(enum.Enum):
    """Sex as written on the card (DG13 field 4) and by the BHXH gateway (``gioiTinh``)."""

    MALE = "Nam"
    FEMALE = "Nữ"

    @property
    def hl7_code(self) -> str:
        """HL7 v2.5 table 0001 administrative sex."""
        return "M" if self is Sex.MALE else "F"

    @property
    def xml0_code(self) -> int:
        """GIOI_TINH in the Ministry of Health datasets: 1 male, 2 female."""
        return 1 if self is Sex.MALE else 2


@dataclass(frozen=True, order=True)
class BirthDate:
    """A date of birth that may be known to the year only (docs/domain.md §2, DG13 field 3)."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if (self.month is None) != (self.day is None):
            raise InvalidInputError("date of birth", "give both day and month, or neither")
        if self.month is not None and self.day is not None:
            try:
                date(self.year, self.month, self.day)
            except ValueError as exc:
                raise InvalidInputError("date of birth", str(exc)) from None
        elif not 1800 <= self.year <= 2999:
            raise InvalidInputError("date of birth", "year out of range")

    @classmethod
    def of(cls, value: date) -> BirthDate:
        return cls(value.year, value.month, value.day)

    @classmethod
    def parse(cls, text: str) -> BirthDate:
        """Parse ``dd/MM/yyyy`` or ``yyyy`` (the gateway's ``ngaySinh``, docs/domain.md §3)."""
        text = text.strip()
        if m := _FULL_DATE_RE.fullmatch(text):
            return cls(int(m[3]), int(m[2]), int(m[1]))
        if _YEAR_RE.fullmatch(text):
            return cls(int(text))
        raise InvalidInputError("date of birth", "expected dd/mm/yyyy or yyyy")

    @property
    def year_only(self) -> bool:
        return self.month is None

    def gateway_format(self) -> str:
        """``dd/MM/yyyy``, or ``yyyy`` when only the year is known."""
        if self.month is None or self.day is None:
            return f"{self.year:04d}"
        return f"{self.day:02d}/{self.month:02d}/{self.year:04d}"

    def compact(self) -> str:
        """``yyyyMMdd``, with ``0000`` for an unknown day and month (HL7 DTM, XML0)."""
        return f"{self.year:04d}{self.month or 0:02d}{self.day or 0:02d}"


def check_id_number(
    id_number: str, *, birth_year: int | None = None, sex: Sex | None = None
) -> str:
    """Check a 12-digit ID number's structure (docs/domain.md §2.6).

    3 digits of where the birth was registered (a province code, or a country code for a
    birth abroad: any prefix is accepted), one digit for century and sex (0/1 male/female
    1900s, 2/3 2000s, ...), two digits of the birth year, six digits. When ``birth_year`` or
    ``sex`` are given they are cross-checked. Returns the number; raises
    :class:`InvalidInputError` otherwise.
    """
    if not _ID_RE.fullmatch(id_number):
        raise InvalidInputError("ID number", "expected 12 digits")
    encoded_year, encoded_sex = _encoded_birth_year_and_sex(id_number)
    if birth_year is not None and birth_year != encoded_year:
        raise InvalidInputError("ID number", "century and year digits do not match the birth year")
    if sex is not None and sex is not encoded_sex:
        raise InvalidInputError("ID number", "sex digit does not match the sex")
    return id_number


def check_bhxh_number(number: str) -> str:
    """Check a 10-digit BHXH number (mã số BHXH: the last 10 characters of the BHYT card
    code, docs/domain.md §3.1). Returns it; raises :class:`InvalidInputError` otherwise."""
    if not _BHXH_RE.fullmatch(number):
        raise InvalidInputError("BHXH number", "expected 10 digits")
    return number


def encoded_birth_year_and_sex(id_number: str) -> tuple[int, Sex]:
    """The birth year and sex a 12-digit ID number's digits encode (docs/domain.md §2.6)."""
    return _encoded_birth_year_and_sex(check_id_number(id_number))


def _encoded_birth_year_and_sex(id_number: str) -> tuple[int, Sex]:
    century_digit = int(id_number[3])
    year = 1900 + 100 * (century_digit // 2) + int(id_number[4:6])
    return year, Sex.MALE if century_digit % 2 == 0 else Sex.FEMALE


class IdentityTrust(enum.Enum):
    """How the kiosk learned who the patient is (docs/domain.md §4.1).

    Stored with the visit and sent to the HIS, so that staff re-check an identity the chip
    did not prove, and kept as the evidence of that re-check (NĐ 188/2025 Đ38 k2). Only
    :attr:`CHIP` may ever be shown as verified.
    """

    CHIP = "chip"
    """Read from the chip; passive authentication holds up to a known CSCA."""
    CHIP_UNTRUSTED = "chip_untrusted"
    """Read from the chip, every proof holds, but its CSCA is not in the trust store."""
    QR = "qr"
    """From an unsigned QR code (the card's front, VNeID): anyone can print one."""
    TYPED = "typed"
    """A number typed on the keypad: nothing but the number is known."""

    @property
    def from_chip(self) -> bool:
        return self in (IdentityTrust.CHIP, IdentityTrust.CHIP_UNTRUSTED)


def _check_text(name: str, value: str, limit: int, *, required: bool) -> None:
    if required and not value.strip():
        raise InvalidInputError(name, "must not be empty")
    if len(value) > limit:
        raise InvalidInputError(name, f"longer than {limit} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInputError(name, "contains control characters")


@dataclass(frozen=True)
class PatientIdentity:
    """Who the patient is, and how far that is proved (``trust``, docs/domain.md §4.1).

    ``bhyt_number`` is the 15-character BHYT card number when the patient showed the paper
    card; otherwise the gateway is asked by ID number. Only a typed number may come without
    a name (:meth:`typed`). ``trust`` defaults to the weakest level, so that an identity
    built without saying where it came from is never taken for a chip-verified one.
    """

    id_number: str = field(repr=False)
    full_name: str = field(repr=False)
    date_of_birth: BirthDate = field(repr=False)
    sex: Sex
    address: str = field(default="", repr=False)
    bhyt_number: str | None = field(default=None, repr=False)
    trust: IdentityTrust = IdentityTrust.TYPED

    def __post_init__(self) -> None:
        check_id_number(self.id_number, birth_year=self.date_of_birth.year, sex=self.sex)
        _check_text(
            "full name",
            self.full_name,
            MAX_NAME_LENGTH,
            required=self.trust is not IdentityTrust.TYPED,
        )
        _check_text("address", self.address, MAX_ADDRESS_LENGTH, required=False)

    @classmethod
    def typed(cls, id_number: str) -> PatientIdentity:
        """The identity a typed 12-digit ID number gives: the birth year and the sex its
        digits encode (docs/domain.md §2.6), no name."""
        year, sex = _encoded_birth_year_and_sex(check_id_number(id_number))
        return cls(id_number, "", BirthDate(year), sex, trust=IdentityTrust.TYPED)
