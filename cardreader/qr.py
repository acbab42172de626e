"""The front QR code of the CCCD (docs/domain.md §2): ``|``-separated UTF-8 text.

The 2021 layout is ``ID|old CMND|name|ddMMyyyy birth|sex|residence|ddMMyyyy issue``; other
layouts are parsed tolerantly (extra fields kept). QR data is not signed: use it to find
the chip's keys and to pre-fill, and trust only what the chip proves.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from cardreader.errors import ParseError
from cardreader.idnumber import IdNumber, parse_id_number

MAX_QR_LENGTH = 2048
MAX_FIELDS = 32
_BOM = "\ufeff"
_KNOWN_FIELDS = 7


def parse_ddmmyyyy(text: str) -> date:
    """A date written ``ddMMyyyy`` (QR) or ``dd/MM/yyyy`` (DG13)."""
    digits = text.replace("/", "")
    if len(digits) != 8 or not digits.isdigit():
        raise ParseError("a date must be ddMMyyyy")
    try:
        return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError as exc:
        raise ParseError(f"not a calendar date: {exc}") from exc


@dataclass(frozen=True, slots=True)
class CccdQr:
    """The fields of the front QR; personal fields are hidden from ``repr``."""

    id_number: IdNumber
    old_id_number: str = field(repr=False)
    full_name: str = field(repr=False)
    date_of_birth: date = field(repr=False)
    sex: str = field(repr=False)
    address: str = field(repr=False)
    date_of_issue: date | None = field(repr=False)
    extra_fields: tuple[str, ...] = field(repr=False, default=())


def parse_cccd_qr(payload: str | bytes) -> CccdQr:
    """Parse the QR payload (text or raw UTF-8 bytes, BOM tolerated)."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("the QR payload is not UTF-8") from exc
    if len(payload) > MAX_QR_LENGTH:
        raise ParseError(f"QR payload longer than {MAX_QR_LENGTH} characters")
    text = unicodedata.normalize("NFC", payload.strip().lstrip(_BOM).strip())
    fields = text.split("|")
    if len(fields) > MAX_FIELDS:
        raise ParseError(f"QR payload with more than {MAX_FIELDS} fields")
    if len(fields) < _KNOWN_FIELDS - 1:
        raise ParseError(f"QR payload has {len(fields)} fields, expected at least 6")
    issue = fields[6].strip() if len(fields) >= _KNOWN_FIELDS else ""
    old_id = fields[1].strip()
    if old_id and not old_id.isdigit():
        raise ParseError("the old ID (CMND) field holds non-digits")
    return CccdQr(
        id_number=parse_id_number(fields[0]),
        old_id_number=old_id,
        full_name=fields[2].strip(),
        date_of_birth=parse_ddmmyyyy(fields[3].strip()),
        sex=fields[4].strip(),
        address=fields[5].strip(),
        date_of_issue=parse_ddmmyyyy(issue) if issue else None,
        extra_fields=tuple(fields[_KNOWN_FIELDS:]),
    )
