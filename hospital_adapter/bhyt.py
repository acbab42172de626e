"""BHYT (health insurance) card numbers and the paper card's QR code (docs/domain.md §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from hospital_adapter.errors import BhytQrError, InvalidInputError
from hospital_adapter.identity import BirthDate, Sex

_BHYT_RE = re.compile(r"([A-Z]{2})([1-5])([0-9]{2})([0-9]{10})")
_BHXH_RE = re.compile(r"[0-9]{10}")
MAX_QR_LENGTH = 2048
_QR_MIN_FIELDS = 8


@dataclass(frozen=True)
class BhytNumber:
    """A 15-character BHYT card number: group + benefit level + province + BHXH number."""

    group: str
    benefit_level: int
    province: str
    bhxh_number: str

    @classmethod
    def parse(cls, text: str) -> BhytNumber:
        """Parse and validate a card number; raise :class:`InvalidInputError` if malformed."""
        m = _BHYT_RE.fullmatch(text.strip().upper())
        if m is None:
            raise InvalidInputError(
                "BHYT number",
                "expected 2 letters, a benefit level 1-5, 2 province digits and 10 digits",
            )
        return cls(m[1], int(m[2]), m[3], m[4])

    def __str__(self) -> str:
        return f"{self.group}{self.benefit_level}{self.province}{self.bhxh_number}"


def is_bhxh_number(text: str) -> bool:
    """True for a 10-digit social insurance number (mã số BHXH)."""
    return _BHXH_RE.fullmatch(text) is not None


def _hex_utf8(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-8")
    except ValueError:
        raise BhytQrError("name or address is not hex-encoded UTF-8") from None


def _qr_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        raise BhytQrError("validity date is not dd/mm/yyyy") from None


@dataclass(frozen=True)
class BhytQrData:
    """What the paper BHYT card's QR code says (docs/domain.md §3)."""

    card_number: BhytNumber = field(repr=False)
    full_name: str = field(repr=False)
    date_of_birth: BirthDate = field(repr=False)
    sex: Sex
    address: str = field(repr=False)
    primary_care_facility: str
    valid_from: date
    valid_to: date


def parse_bhyt_qr(payload: str) -> BhytQrData:
    """Parse the paper card's QR: ``card|hex name|dob|sex|hex address|facility|from|to|...``.

    Sex is ``1`` (male) or ``2`` (female); fields after the validity dates (issue date,
    manager code, parents, checksum ending in ``$``) are ignored. Bounded to
    :data:`MAX_QR_LENGTH` characters.
    """
    if len(payload) > MAX_QR_LENGTH:
        raise BhytQrError(f"longer than {MAX_QR_LENGTH} characters")
    fields = payload.strip().removeprefix("\ufeff").rstrip("$").split("|")
    if len(fields) < _QR_MIN_FIELDS:
        raise BhytQrError(f"expected at least {_QR_MIN_FIELDS} fields, got {len(fields)}")
    try:
        card = BhytNumber.parse(fields[0])
        birth = BirthDate.parse(fields[2])
    except InvalidInputError as exc:
        raise BhytQrError(exc.reason) from None
    sexes = {"1": Sex.MALE, "2": Sex.FEMALE}
    if fields[3] not in sexes:
        raise BhytQrError("sex must be 1 or 2")
    valid_from, valid_to = _qr_date(fields[6]), _qr_date(fields[7])
    if valid_to < valid_from:
        raise BhytQrError("validity ends before it starts")
    return BhytQrData(
        card_number=card,
        full_name=_hex_utf8(fields[1]),
        date_of_birth=birth,
        sex=sexes[fields[3]],
        address=_hex_utf8(fields[4]),
        primary_care_facility=re.sub(r"[\s-]", "", fields[5]),
        valid_from=valid_from,
        valid_to=valid_to,
    )
