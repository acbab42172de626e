"""DG13 of the Vietnamese CCCD: personal data keyed by field number (docs/domain.md §2).

``6D { SEQUENCE { INTEGER version, OBJECT IDENTIFIER, SET { SEQUENCE { INTEGER n, value }
... } } }``, decoded with the strict, bounded BER-TLV of :mod:`cardreader.iso7816.tlv`
(X.690 §8.1: definite lengths only, every object within its parent; DER's primitive
strings and INTEGERs, constructed SEQUENCE and SET). The layout is known from one good
source only, so the parser is tolerant: version and OID may be absent, and what follows
the SET is ignored; fields are found by their number, never by position; absent fields are
None; unknown numbers are kept raw; a value may be any string type of
:data:`STRING_CODECS`, or a SEQUENCE or SET of them (parents, spouse). Text is
NFC-normalised; dates ``dd/mm/yyyy`` are parsed with the raw text kept. Counts are checked
before any value is decoded. Personal fields are hidden from ``repr``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from cardreader.asn1 import UniversalTag
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


STRING_CODECS: Mapping[UniversalTag, str] = MappingProxyType(
    {
        UniversalTag.UTF8_STRING: "utf-8",
        UniversalTag.PRINTABLE_STRING: "utf-8",
        UniversalTag.NUMERIC_STRING: "utf-8",
        UniversalTag.IA5_STRING: "utf-8",
        UniversalTag.VISIBLE_STRING: "utf-8",
        UniversalTag.TELETEX_STRING: "utf-8",
        UniversalTag.OCTET_STRING: "utf-8",
        UniversalTag.BMP_STRING: "utf-16-be",
        UniversalTag.UNIVERSAL_STRING: "utf-32-be",
    }
)
"""How each accepted string type is decoded. The 8-bit types are read as UTF-8, a superset
of their ASCII repertoire, since the card's choice of type is not confirmed."""
_CODECS: dict[int, str] = {int(tag): codec for tag, codec in STRING_CODECS.items()}


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
            strings = _strings(_value_objects(self.value), self.number)
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
    """A field number or version: an INTEGER of 1 to 4 octets (X.690 §8.3)."""
    if item.tag != UniversalTag.INTEGER:
        raise ParseError(f"{what} must be an INTEGER")
    if not 1 <= len(item.value) <= _MAX_INTEGER_BYTES:
        raise ParseError(f"{what} must have 1 to {_MAX_INTEGER_BYTES} bytes")
    return int.from_bytes(item.value, "big", signed=True)


def _value_objects(encoded: bytes) -> list[tlv.Tlv]:
    """The value objects of one field, as they follow its number (at most :data:`MAX_VALUES`)."""
    values = tlv.decode_all(encoded, MAX_VALUES + 1)
    if len(values) > MAX_VALUES:
        raise ParseError(f"more than {MAX_VALUES} value objects in a DG13 field")
    return values


def _decode_string(value: tlv.Tlv, number: int) -> str:
    codec = _CODECS.get(value.tag)
    if codec is None:
        raise ParseError(f"DG13 field {number} holds tag {value.tag:X}, not a string")
    try:
        text = value.value.decode(codec)
    except UnicodeDecodeError as exc:
        raise ParseError(f"DG13 field {number} is not valid {codec}") from exc
    return unicodedata.normalize("NFC", text)


_NESTED = frozenset((UniversalTag.SEQUENCE, UniversalTag.SET))
"""A value that is a SEQUENCE or SET of strings (parents, spouse), one level deep."""


def _strings(values: list[tlv.Tlv], number: int) -> list[str]:
    """The strings of a field's value objects, one SEQUENCE or SET level flattened."""
    out: list[str] = []
    too_many = f"DG13 field {number} holds more than {MAX_VALUES} strings"
    for value in values:
        parts = tlv.decode_all(value.value, MAX_VALUES + 1) if value.tag in _NESTED else [value]
        if len(parts) > MAX_VALUES:
            raise ParseError(too_many)
        out.extend(_decode_string(part, number) for part in parts)
        if len(out) > MAX_VALUES:
            raise ParseError(too_many)
    return out


def _entries(fields: tlv.Tlv) -> dict[int, bytes]:
    """Field number → the field's value objects exactly as encoded (each decoded once here,
    so a malformed one is refused even in a field this library does not know)."""
    if fields.tag != UniversalTag.SET:
        raise ParseError(f"DG13 fields must be a SET, not tag {fields.tag:X}")
    items = tlv.decode_all(fields.value, MAX_FIELDS + 1)
    if len(items) > MAX_FIELDS:
        raise ParseError(f"more than {MAX_FIELDS} fields in DG13")
    entries: dict[int, bytes] = {}
    for item in items:
        if item.tag != UniversalTag.SEQUENCE:
            raise ParseError(f"DG13 entry must be a SEQUENCE, not tag {item.tag:X}")
        if not item.value:
            raise ParseError("empty DG13 entry")
        first, values = tlv.decode_one(item.value)
        tlv.decode_all(values)
        number = _integer(first, "DG13 field number")
        if number < 0:
            raise ParseError("negative DG13 field number")
        if number in entries:
            raise ParseError(f"DG13 field {number} appears twice")
        entries[number] = values
    return entries


def parse_dg13(data: bytes) -> Dg13:
    """Parse the CCCD's DG13 (docs/domain.md §2) by field number."""
    content = tlv.decode_single(unwrap(data, LdsTag.DG13).value)
    if content.tag != UniversalTag.SEQUENCE:
        raise ParseError(f"DG13 must hold a SEQUENCE, not tag {content.tag:X}")
    children = tlv.decode_all(content.value)
    version = oid = None
    if children and children[0].tag == UniversalTag.INTEGER:
        version = _integer(children.pop(0), "DG13 version")
    if children and children[0].tag == UniversalTag.OBJECT_IDENTIFIER:
        oid = tlv.decode_oid(children.pop(0).value)
    if not children:
        raise ParseError("DG13 has no SET of fields")
    entries = _entries(children[0])

    def strings(number: Dg13Field) -> list[str]:
        return _strings(_value_objects(entries.get(number, b"")), number)

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
        version=version,
        oid=oid,
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
