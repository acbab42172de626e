"""Realistic, fictional Vietnamese people for virtual cards, deterministic from a seed.

The ID number's province, century/sex and year digits agree with the person (docs/domain.md §2);
birth, issue and expiry dates follow the age rules; names carry diacritics and an ASCII
form for the MRZ. This module models the card issuer, independently of the reader.
"""

from __future__ import annotations

import enum
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

PROVINCES: tuple[tuple[str, str], ...] = (
    ("001", "Hà Nội"),
    ("031", "Hải Phòng"),
    ("036", "Nam Định"),
    ("038", "Thanh Hoá"),
    ("040", "Nghệ An"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("056", "Khánh Hoà"),
    ("066", "Đắk Lắk"),
    ("075", "Đồng Nai"),
    ("079", "Hồ Chí Minh"),
    ("092", "Cần Thơ"),
)
"""Province codes of birth registration (a subset of the 63 codes 001–096)."""

SURNAMES = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
)
MALE_MIDDLE = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thành", "Xuân")
FEMALE_MIDDLE = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Phương", "Bảo")
MALE_GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khánh",
    "Long",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Thắng",
    "Tuấn",
    "Việt",
)
FEMALE_GIVEN = (
    "Anh",
    "Châu",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hoà",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Ngân",
    "Nhung",
    "Oanh",
    "Thảo",
    "Trang",
    "Yến",
)
STREETS = (
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Phan Chu Trinh",
    "Quang Trung",
    "Điện Biên Phủ",
)
WARDS = (
    "Phường Bến Nghé",
    "Phường 7",
    "Phường Hàng Bạc",
    "Xã Tân Phú",
    "Phường Thạch Thang",
    "Xã Hoà Hiệp",
)
ETHNICITIES = ("Kinh",) * 9 + ("Tày", "Mường", "Khmer", "Hoa")
RELIGIONS = ("Không",) * 6 + ("Phật giáo", "Công giáo")
CARD_2021_FROM = date(2021, 1, 1)
CARD_2024_FROM = date(2024, 7, 1)
TODAY = date(2026, 1, 1)
"""Reference date that keeps personas stable over time (issue dates are before it)."""


class Sex(enum.Enum):
    MALE = "Nam"
    FEMALE = "Nữ"

    @property
    def mrz(self) -> str:
        return "M" if self is Sex.MALE else "F"


class CardKind(enum.Enum):
    """The 2021 CCCD and the 2024 "thẻ căn cước" (Law on Identification 2023)."""

    CCCD_2021 = "cccd-2021"
    CAN_CUOC_2024 = "can-cuoc-2024"


def ascii_name(text: str) -> str:
    """Upper-case ASCII without diacritics, as printed in the MRZ (đ → D)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )
    return stripped.upper()


def _birthday(born: date, age: int) -> date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 2, 28)


def card_expiry(born: date, issued: date, kind: CardKind) -> date | None:
    """Expiry by the issuer's age rules (docs/domain.md §2): next milestone, 2-year grace."""
    milestones = (25, 40, 60) if kind is CardKind.CCCD_2021 else (14, 25, 40, 60)
    for milestone in milestones:
        if issued < _birthday(born, milestone - 2):
            return _birthday(born, milestone)
    return None


@dataclass(frozen=True)
class Persona:
    """A fictional citizen and their card's facts. Personal fields hidden from repr."""

    seed: int
    id_number: str = field(repr=False)
    full_name: str = field(repr=False)
    sex: Sex
    date_of_birth: date = field(repr=False)
    date_of_issue: date = field(repr=False)
    date_of_expiry: date | None = field(repr=False)
    card_kind: CardKind
    nationality: str = field(repr=False)
    ethnicity: str = field(repr=False)
    religion: str = field(repr=False)
    place_of_origin: str = field(repr=False)
    place_of_residence: str = field(repr=False)
    identifying_marks: str = field(repr=False)
    father: str = field(repr=False)
    mother: str = field(repr=False)
    spouse: str | None = field(repr=False)
    old_id_number: str | None = field(repr=False)

    @property
    def can(self) -> str:
        return self.id_number[-6:]

    @property
    def surname(self) -> str:
        return self.full_name.split(" ")[0]

    @property
    def given_names(self) -> str:
        return " ".join(self.full_name.split(" ")[1:])

    def age_on(self, day: date) -> int:
        years = day.year - self.date_of_birth.year
        return years - ((day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day))


def _name(rng: random.Random, sex: Sex, surname: str | None = None) -> str:
    middle, given = (MALE_MIDDLE, MALE_GIVEN) if sex is Sex.MALE else (FEMALE_MIDDLE, FEMALE_GIVEN)
    return f"{surname or rng.choice(SURNAMES)} {rng.choice(middle)} {rng.choice(given)}"


def _address(rng: random.Random, province: str) -> str:
    return f"Số {rng.randint(1, 250)} {rng.choice(STREETS)}, {rng.choice(WARDS)}, {province}"


def make_persona(seed: int) -> Persona:
    """The persona of ``seed``; the same seed always gives the same person."""
    rng = random.Random(seed)
    sex = rng.choice((Sex.MALE, Sex.FEMALE))
    code, province = rng.choice(PROVINCES)
    born = date(1935, 1, 1) + timedelta(
        days=rng.randrange((date(2011, 12, 31) - date(1935, 1, 1)).days)
    )
    kind = rng.choice((CardKind.CCCD_2021, CardKind.CAN_CUOC_2024))
    start = CARD_2021_FROM if kind is CardKind.CCCD_2021 else CARD_2024_FROM
    end = CARD_2024_FROM if kind is CardKind.CCCD_2021 else TODAY
    earliest = max(start, _birthday(born, 14))
    if earliest >= end:  # too young for this card: a 2024 card issued before the persona's 14th
        kind, earliest, end = CardKind.CAN_CUOC_2024, CARD_2024_FROM, TODAY
    issued = earliest + timedelta(days=rng.randrange(max(1, (end - earliest).days)))
    century_digit = 2 * ((born.year - 1900) // 100) + (0 if sex is Sex.MALE else 1)
    id_number = f"{code}{century_digit}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    surname = rng.choice(SURNAMES)
    full_name = _name(rng, sex, surname)
    adult = _birthday(born, 20) < TODAY
    spouse = (
        _name(rng, Sex.FEMALE if sex is Sex.MALE else Sex.MALE)
        if adult and rng.random() < 0.6
        else None
    )
    old_id = f"{rng.randrange(10**9):09d}" if born.year < 2000 and rng.random() < 0.7 else None
    return Persona(
        seed=seed,
        id_number=id_number,
        full_name=full_name,
        sex=sex,
        date_of_birth=born,
        date_of_issue=issued,
        date_of_expiry=card_expiry(born, issued, kind),
        card_kind=kind,
        nationality="Việt Nam",
        ethnicity=rng.choice(ETHNICITIES),
        religion=rng.choice(RELIGIONS),
        place_of_origin=f"{rng.choice(WARDS)}, {rng.choice(PROVINCES)[1]}",
        place_of_residence=_address(rng, province),
        identifying_marks=rng.choice(
            ("Nốt ruồi C:2cm trên trước mép phải", "Sẹo chấm C:1cm dưới trước cằm", "Không")
        ),
        father=_name(rng, Sex.MALE, surname),
        mother=_name(rng, Sex.FEMALE),
        spouse=spouse,
        old_id_number=old_id,
    )


def qr_payload(persona: Persona) -> str:
    """The front QR text of the 2021 card (docs/domain.md §2)."""
    fields = (
        persona.id_number,
        persona.old_id_number or "",
        persona.full_name,
        persona.date_of_birth.strftime("%d%m%Y"),
        persona.sex.value,
        persona.place_of_residence,
        persona.date_of_issue.strftime("%d%m%Y"),
    )
    return "|".join(fields)
