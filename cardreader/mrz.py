"""Machine readable zone: check digits and TD1/TD2/TD3 parsing (ICAO 9303-3 §4.9, 9303-4..6).

Parsing reports every check digit instead of failing on the first bad one, so a reader can
say exactly which field is wrong; structural errors raise :class:`ParseError`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from cardreader.errors import ParseError

FILLER = "<"
_WEIGHTS = (7, 3, 1)
_MRZ_CHARS = re.compile(r"^[A-Z0-9<]*$")


class MrzFormat(enum.Enum):
    """Size-1 card (3×30), size-2 (2×36) and passport (2×44) formats."""

    TD1 = (3, 30)
    TD2 = (2, 36)
    TD3 = (2, 44)

    @property
    def lines(self) -> int:
        return self.value[0]

    @property
    def width(self) -> int:
        return self.value[1]


def char_value(char: str) -> int:
    """Numeric value of an MRZ character: digits, A=10 … Z=35, filler 0 (9303-3 §4.9)."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ParseError(f"character {char!r} is not allowed in an MRZ")


def check_digit(field: str) -> str:
    """The check digit of ``field`` with weights 7, 3, 1 (ICAO 9303-3 §4.9)."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


@dataclass(frozen=True, slots=True)
class CheckDigit:
    """One check digit of the MRZ: the field it covers, the printed and computed digit."""

    name: str
    printed: str
    computed: str

    @property
    def valid(self) -> bool:
        return self.printed == self.computed


@dataclass(frozen=True, slots=True)
class Mrz:
    """A parsed MRZ. Dates stay in the YYMMDD form printed; names stay as printed.

    Everything personal is left out of ``repr``.
    """

    format: MrzFormat
    document_code: str
    issuing_state: str
    document_number: str = field(repr=False)
    optional_data_1: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    sex: str = field(repr=False)
    date_of_expiry: str = field(repr=False)
    nationality: str = field(repr=False)
    optional_data_2: str = field(repr=False)
    primary_identifier: str = field(repr=False)
    secondary_identifier: str = field(repr=False)
    check_digits: tuple[CheckDigit, ...] = field(repr=False)
    text: str = field(repr=False)

    @property
    def valid(self) -> bool:
        """Whether every check digit matches."""
        return all(cd.valid for cd in self.check_digits)

    @property
    def bac_information(self) -> str:
        """Document number, date of birth and expiry with their check digits (9303-11 §9.7.2)."""
        return bac_information(self.document_number, self.date_of_birth, self.date_of_expiry)


MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""The most days of each month (February of a leap year: the century is not printed)."""


def is_mrz_date(text: str) -> bool:
    """Whether ``text`` is an MRZ date YYMMDD (ICAO 9303-5 §4.2): month 01-12 and a day that
    month has; 00 for an unknown month or day, as some issuers print, is accepted."""
    if not re.fullmatch(r"\d{6}", text):
        return False
    month, day = int(text[2:4]), int(text[4:6])
    if month > len(MONTH_DAYS) or day > 31:
        return False
    return month == 0 or day <= MONTH_DAYS[month - 1]


def bac_information(document_number: str, date_of_birth: str, date_of_expiry: str) -> str:
    """The 'MRZ information' hashed into the BAC/PACE key seed (ICAO 9303-11 §9.7.2).

    Document numbers shorter than 9 characters are padded with fillers.
    """
    number = document_number.upper().ljust(9, FILLER)
    for name, date in (("date of birth", date_of_birth), ("date of expiry", date_of_expiry)):
        if not is_mrz_date(date):
            raise ParseError(f"{name} must be a date YYMMDD (month 01-12, a day of that month)")
    if not _MRZ_CHARS.match(number):
        raise ParseError("document number may hold only A-Z, 0-9 and <")
    return "".join(f"{f}{check_digit(f)}" for f in (number, date_of_birth, date_of_expiry))


def _clean(field: str) -> str:
    return field.rstrip(FILLER)


def _names(field: str) -> tuple[str, str]:
    primary, _, secondary = field.partition(FILLER * 2)
    return primary.replace(FILLER, " ").strip(), secondary.replace(FILLER, " ").strip()


def _document_number(number: str, cd: str, optional: str) -> tuple[str, str, str]:
    """Long document numbers continue in the optional data (9303-5 §4.2.2 note j)."""
    if cd == FILLER and optional:
        extended, _, rest = optional.partition(FILLER)
        return number + extended[:-1], extended[-1:], rest
    return _clean(number), cd, optional


def parse_mrz(text: str) -> Mrz:
    """Parse a TD1, TD2 or TD3 MRZ given with or without line breaks."""
    flat = "".join(text.split()).upper()
    fmt = next((f for f in MrzFormat if len(flat) == f.lines * f.width), None)
    if fmt is None:
        raise ParseError(f"an MRZ has 90, 72 or 88 characters, not {len(flat)}")
    if not _MRZ_CHARS.match(flat):
        raise ParseError("the MRZ holds characters outside A-Z, 0-9 and <")
    lines = [flat[i * fmt.width : (i + 1) * fmt.width] for i in range(fmt.lines)]
    if fmt is MrzFormat.TD1:
        l1, l2, l3 = lines
        raw_number, number_cd, opt1 = l1[5:14], l1[14], l1[15:30]
        dob, dob_cd, sex, doe, doe_cd = l2[0:6], l2[6], l2[7], l2[8:14], l2[14]
        nationality, opt2, composite = l2[15:18], l2[18:29], l2[29]
        composite_data = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
        names = l3
    else:
        l1, l2 = lines
        raw_number, number_cd = l2[0:9], l2[9]
        nationality, dob, dob_cd, sex = l2[10:13], l2[13:19], l2[19], l2[20]
        doe, doe_cd = l2[21:27], l2[27]
        names = l1[5:]
        if fmt is MrzFormat.TD3:
            opt1, opt2, composite = l2[28:42], "", l2[43]
            composite_data = l2[0:10] + l2[13:20] + l2[21:43]
        else:
            opt1, opt2, composite = l2[28:35], "", l2[35]
            composite_data = l2[0:10] + l2[13:20] + l2[21:35]
    number, number_cd, opt1 = _document_number(raw_number, number_cd, opt1)
    checks = [
        CheckDigit("document number", number_cd, check_digit(number.ljust(9, FILLER))),
        CheckDigit("date of birth", dob_cd, check_digit(dob)),
        CheckDigit("date of expiry", doe_cd, check_digit(doe)),
    ]
    if fmt is MrzFormat.TD3:
        opt_cd = l2[42]
        computed = check_digit(opt1) if opt_cd != FILLER or opt1.strip(FILLER) else FILLER
        checks.append(CheckDigit("optional data", opt_cd, computed))
    checks.append(CheckDigit("composite", composite, check_digit(composite_data)))
    primary, secondary = _names(names)
    return Mrz(
        format=fmt,
        document_code=_clean(lines[0][0:2]),
        issuing_state=_clean(lines[0][2:5]),
        document_number=number,
        optional_data_1=_clean(opt1),
        date_of_birth=dob,
        sex=sex,
        date_of_expiry=doe,
        nationality=_clean(nationality),
        optional_data_2=_clean(opt2),
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits=tuple(checks),
        text="\n".join(lines),
    )
