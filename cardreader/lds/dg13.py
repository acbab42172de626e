"""DG13 of the Vietnamese CCCD: personal data keyed by field number (docs/domain.md §2).

``6D { SEQUENCE { INTEGER version, OBJECT IDENTIFIER, SET { SEQUENCE { INTEGER n, value }
... } } }``. The layout is known from one good source only, so the parser is tolerant:
fields are found by their number, never by position; absent fields are None; unknown
numbers are kept raw; a value may be any primitive string type, or a SEQUENCE of them
(parents, spouse). Text is NFC-normalised; dates ``dd/mm/yyyy`` are parsed with the raw
text kept. Personal fields are hidden from ``repr``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from cardreader.errors import ParseError
from cardreader.idnumber import Sex
from cardreader.iso7816 import tlv
from cardreader.lds.tags import LdsTag, unwrap
from cardreader.qr import parse_ddmmyyyy

MAX_FIELDS = 64
"""More entries than this in the SET are refused (the card has 16)."""
MAX_VALUES = 8
"""Strings in one field (parents have two)."""
_MAX_INTEGER_BYTES = 4


class Dg13Field(enum.IntEnum):
    """Field numbers of the CCCD's DG13 (docs/domain.md §2, [likely])."""

    ID_NUMBER = 1
    FULL_NAME = 2
    DATE_OF_BIRTH = 3
    SEX = 4
    NATIONALITY = 5
    ETHNICITY = 6
    RELIGION = 7
    PLACE_OF_ORIGIN = 8
    PLACE_OF_RESIDENCE = 9
    IDENTIFYING_MARKS = 10
    DATE_OF_ISSUE = 11
    DATE_OF_EXPIRY = 12
    PARENTS = 13
    SPOUSE = 14
    OLD_ID_NUMBER = 15


class Asn1Tag(enum.IntEnum):
    """Universal ASN.1 tags found in DG13 (ITU-T X.680 §8.4)."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    OBJECT_IDENTIFIER = 0x06
    UTF8_STRING = 0x0C
    NUMERIC_STRING = 0x12
    PRINTABLE_STRING = 0x13
    TELETEX_STRING = 0x14
    IA5_STRING = 0x16
    VISIBLE_STRING = 0x1A
    UNIVERSAL_STRING = 0x1C
    BMP_STRING = 0x1E
    SEQUENCE = 0x30
    SET = 0x31


STRING_CODECS: Mapping[int, str] = MappingProxyType(
    {
        Asn1Tag.UTF8_STRING: "utf-8",
        Asn1Tag.PRINTABLE_STRING: "utf-8",
        Asn1Tag.NUMERIC_STRING: "utf-8",
        Asn1Tag.IA5_STRING: "utf-8",
        Asn1Tag.VISIBLE_STRING: "utf-8",
        Asn1Tag.TELETEX_STRING: "utf-8",
        Asn1Tag.OCTET_STRING: "utf-8",
        Asn1Tag.BMP_STRING: "utf-16-be",
        Asn1Tag.UNIVERSAL_STRING: "utf-32-be",
    }
)
"""How each accepted string type is decoded. The 8-bit types are read as UTF-8, a superset
of their ASCII repertoire, since the card's choice of type is not confirmed."""

SEX_TEXTS: Mapping[str, Sex] = MappingProxyType({"nam": Sex.MALE, "nữ": Sex.FEMALE})
"""Sex as printed on the card and in DG13 and the QR (casefolded, NFC)."""

_DAY_MONTH_YEAR = re.compile(r"\d{2}/\d{2}/\d{4}|\d{8}")
_YEAR = re.compile(r"\d{4}")


def sex_from_text(text: str) -> Sex | None:
    """``Nam`` → MALE, ``Nữ`` → FEMALE, anything else None."""
    return SEX_TEXTS.get(unicodedata.normalize("NFC", text.strip()).casefold())


@dataclass(frozen=True, slots=True)
class CardDate:
    """A date as written on the card, with its calendar value when it is a full date.

    ``"15/03/1985"`` has a value; a year only (``"1985"``) or a text such as
    ``"Không thời hạn"`` (no expiry) keeps the text with value None.
    """

    text: str = field(repr=False)
    value: date | None = field(repr=False)

    @property
    def year(self) -> int | None:
        """The year of a full date or of a year-only text."""
        if self.value is not None:
            return self.value.year
        text = self.text.strip()
        return int(text) if _YEAR.fullmatch(text) else None


def parse_card_date(text: str) -> CardDate:
    """``dd/mm/yyyy`` (or ``ddmmyyyy``) to a date; other texts kept with value None."""
    stripped = text.strip()
    value = None
    if _DAY_MONTH_YEAR.fullmatch(stripped):
        try:
            value = parse_ddmmyyyy(stripped)
        except ParseError:
            value = None
    return CardDate(text, value)


@dataclass(frozen=True, slots=True)
class UnknownField:
    """A field number this library does not know: its value objects as encoded."""

    number: int
    value: bytes = field(repr=False)

    @property
    def text(self) -> str | None:
        """The value as text when it is a single string, else None."""
        try:
            items = tlv.decode_all(self.value, max_elements=MAX_VALUES)
            strings = _strings(items, self.number)
        except ParseError:
            return None
        return strings[0] if len(strings) == 1 else None


@dataclass(frozen=True, slots=True)
class Dg13:
    """The CCCD's DG13; every personal field is None when the card leaves it out."""

    version: int | None = None
    oid: str | None = None
    field_numbers: tuple[int, ...] = ()
    id_number: str | None = field(default=None, repr=False)
    full_name: str | None = field(default=None, repr=False)
    date_of_birth: CardDate | None = field(default=None, repr=False)
    sex: str | None = field(default=None, repr=False)
    nationality: str | None = field(default=None, repr=False)
    ethnicity: str | None = field(default=None, repr=False)
    religion: str | None = field(default=None, repr=False)
    place_of_origin: str | None = field(default=None, repr=False)
    place_of_residence: str | None = field(default=None, repr=False)
    identifying_marks: str | None = field(default=None, repr=False)
    date_of_issue: CardDate | None = field(default=None, repr=False)
    date_of_expiry: CardDate | None = field(default=None, repr=False)
    father_name: str | None = field(default=None, repr=False)
    mother_name: str | None = field(default=None, repr=False)
    spouse_name: str | None = field(default=None, repr=False)
    old_id_number: str | None = field(default=None, repr=False)
    unknown_fields: tuple[UnknownField, ...] = field(default=(), repr=False)


def _integer(item: tlv.Tlv, what: str) -> int:
    if item.tag != Asn1Tag.INTEGER:
        raise ParseError(f"{what} must be an INTEGER, not tag {item.tag:X}")
    if not item.value or len(item.value) > _MAX_INTEGER_BYTES:
        raise ParseError(f"{what} must have 1 to {_MAX_INTEGER_BYTES} bytes")
    return int.from_bytes(item.value, "big", signed=True)


def _decode_string(item: tlv.Tlv, number: int) -> str:
    codec = STRING_CODECS.get(item.tag)
    if codec is None:
        raise ParseError(f"DG13 field {number} holds tag {item.tag:X}, not a string")
    try:
        text = item.value.decode(codec)
    except UnicodeDecodeError as exc:
        raise ParseError(f"DG13 field {number} is not valid {codec}") from exc
    return unicodedata.normalize("NFC", text)


def _strings(values: list[tlv.Tlv], number: int) -> list[str]:
    """The strings of a field's value objects, one SEQUENCE or SET level flattened."""
    out: list[str] = []
    for item in values:
        parts = (
            tlv.decode_all(item.value, max_elements=MAX_VALUES)
            if item.tag in (Asn1Tag.SEQUENCE, Asn1Tag.SET)
            else [item]
        )
        out.extend(_decode_string(part, number) for part in parts)
        if len(out) > MAX_VALUES:
            raise ParseError(f"DG13 field {number} holds more than {MAX_VALUES} strings")
    return out


def _entries(container: list[tlv.Tlv]) -> dict[int, bytes]:
    """Field number → the field's value objects exactly as encoded."""
    entries: dict[int, bytes] = {}
    for entry in container:
        if entry.tag != Asn1Tag.SEQUENCE:
            raise ParseError(f"DG13 entry with tag {entry.tag:X} instead of a SEQUENCE")
        if not entry.value:
            raise ParseError("empty DG13 entry")
        first, rest = tlv.decode_one(entry.value)
        number = _integer(first, "DG13 field number")
        if number < 0:
            raise ParseError("negative DG13 field number")
        if number in entries:
            raise ParseError(f"DG13 field {number} appears twice")
        entries[number] = rest
    return entries


def parse_dg13(data: bytes) -> Dg13:
    """Parse the CCCD's DG13 (docs/domain.md §2) by field number."""
    body = unwrap(data, LdsTag.DG13).children()
    if len(body) != 1 or body[0].tag != Asn1Tag.SEQUENCE:
        raise ParseError("DG13 must hold one SEQUENCE")
    header = tlv.decode_all(body[0].value, max_elements=MAX_FIELDS + 2)
    version = next((i for i in header if i.tag == Asn1Tag.INTEGER), None)
    oid = next((i for i in header if i.tag == Asn1Tag.OBJECT_IDENTIFIER), None)
    container = next((i for i in header if i.tag == Asn1Tag.SET), None)
    if container is None:
        raise ParseError("DG13 holds no SET of fields")
    entries = _entries(tlv.decode_all(container.value, max_elements=MAX_FIELDS))

    def strings(number: Dg13Field) -> list[str]:
        values = tlv.decode_all(entries.get(number, b""), max_elements=MAX_VALUES)
        return _strings(values, number)

    def text(number: Dg13Field) -> str | None:
        values = [value for value in strings(number) if value]
        if len(values) > 1:
            raise ParseError(f"DG13 field {number} holds {len(values)} strings, expected one")
        return values[0] if values else None

    def card_date(number: Dg13Field) -> CardDate | None:
        value = text(number)
        return None if value is None else parse_card_date(value)

    parents = strings(Dg13Field.PARENTS)
    if len(parents) > 2:
        raise ParseError(f"DG13 parents field holds {len(parents)} names, expected two")
    father, mother = [*parents, "", ""][:2]
    known = {int(number) for number in Dg13Field}
    return Dg13(
        version=None if version is None else _integer(version, "DG13 version"),
        oid=None if oid is None else tlv.decode_oid(oid.value),
        field_numbers=tuple(entries),
        id_number=text(Dg13Field.ID_NUMBER),
        full_name=text(Dg13Field.FULL_NAME),
        date_of_birth=card_date(Dg13Field.DATE_OF_BIRTH),
        sex=text(Dg13Field.SEX),
        nationality=text(Dg13Field.NATIONALITY),
        ethnicity=text(Dg13Field.ETHNICITY),
        religion=text(Dg13Field.RELIGION),
        place_of_origin=text(Dg13Field.PLACE_OF_ORIGIN),
        place_of_residence=text(Dg13Field.PLACE_OF_RESIDENCE),
        identifying_marks=text(Dg13Field.IDENTIFYING_MARKS),
        date_of_issue=card_date(Dg13Field.DATE_OF_ISSUE),
        date_of_expiry=card_date(Dg13Field.DATE_OF_EXPIRY),
        father_name=father or None,
        mother_name=mother or None,
        spouse_name=text(Dg13Field.SPOUSE),
        old_id_number=text(Dg13Field.OLD_ID_NUMBER),
        unknown_fields=tuple(
            UnknownField(number, value) for number, value in entries.items() if number not in known
        ),
    )
