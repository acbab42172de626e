"""Every field of DG1 and DG13 by name, for a person to read (``cccd read``, ``cccd verify``).

DG1 fields follow the MRZ (ICAO 9303-3 §4.2, 9303-5 §4.2), DG13 fields the CCCD's numbering
(docs/domain.md §2.5). Values are as the chip holds them: MRZ dates YYMMDD, DG13 dates as
written (``dd/mm/yyyy`` or a text), Vietnamese NFC-normalised. A DG13 number this library does
not know is kept raw: its encoded value in hex and, when it is one string, that text.

This is personal data: it is for the user's own screen, never for a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cardreader.lds.dg13 import CardDate, Dg13, Dg13Field
from cardreader.mrz import Mrz


@dataclass(frozen=True, slots=True)
class NamedField:
    """One field: its name (``full_name``), DG13 number if any, and value (None: absent)."""

    name: str
    value: str | None = field(repr=False)
    number: int | None = None

    @property
    def label(self) -> str:
        """The name for a person: ``full name``, ``field 16``."""
        return self.name.replace("_", " ")


@dataclass(frozen=True, slots=True)
class RawField:
    """A DG13 field of a number this library does not know."""

    number: int
    hex: str = field(repr=False)
    text: str | None = field(repr=False)


def mrz_fields(mrz: Mrz) -> tuple[NamedField, ...]:
    """Every field of the MRZ in the order it is printed, and whether the check digits hold."""
    return (
        NamedField("format", mrz.format.name),
        NamedField("document_code", mrz.document_code),
        NamedField("issuing_state", mrz.issuing_state),
        NamedField("document_number", mrz.document_number),
        NamedField("optional_data_1", mrz.optional_data_1),
        NamedField("date_of_birth", mrz.date_of_birth),
        NamedField("sex", mrz.sex),
        NamedField("date_of_expiry", mrz.date_of_expiry),
        NamedField("nationality", mrz.nationality),
        NamedField("optional_data_2", mrz.optional_data_2),
        NamedField("primary_identifier", mrz.primary_identifier),
        NamedField("secondary_identifier", mrz.secondary_identifier),
        NamedField("check_digits", "valid" if mrz.valid else "invalid"),
    )


def _text(value: str | CardDate | None) -> str | None:
    return value.text if isinstance(value, CardDate) else value


def dg13_fields(dg13: Dg13) -> tuple[NamedField, ...]:
    """Every known DG13 field in number order; the parents field gives two names."""
    values: dict[Dg13Field, tuple[tuple[str, str | CardDate | None], ...]] = {
        Dg13Field.ID_NUMBER: (("id_number", dg13.id_number),),
        Dg13Field.FULL_NAME: (("full_name", dg13.full_name),),
        Dg13Field.DATE_OF_BIRTH: (("date_of_birth", dg13.date_of_birth),),
        Dg13Field.SEX: (("sex", dg13.sex),),
        Dg13Field.NATIONALITY: (("nationality", dg13.nationality),),
        Dg13Field.ETHNICITY: (("ethnicity", dg13.ethnicity),),
        Dg13Field.RELIGION: (("religion", dg13.religion),),
        Dg13Field.PLACE_OF_ORIGIN: (("place_of_origin", dg13.place_of_origin),),
        Dg13Field.PLACE_OF_RESIDENCE: (("place_of_residence", dg13.place_of_residence),),
        Dg13Field.IDENTIFYING_MARKS: (("identifying_marks", dg13.identifying_marks),),
        Dg13Field.DATE_OF_ISSUE: (("date_of_issue", dg13.date_of_issue),),
        Dg13Field.DATE_OF_EXPIRY: (("date_of_expiry", dg13.date_of_expiry),),
        Dg13Field.PARENTS: (("father_name", dg13.father_name), ("mother_name", dg13.mother_name)),
        Dg13Field.SPOUSE: (("spouse_name", dg13.spouse_name),),
        Dg13Field.OLD_ID_NUMBER: (("old_id_number", dg13.old_id_number),),
    }
    return tuple(
        NamedField(name, _text(value), int(number))
        for number in Dg13Field
        for name, value in values[number]
    )


def dg13_raw_fields(dg13: Dg13) -> tuple[RawField, ...]:
    """The fields of numbers this library does not know, raw."""
    return tuple(
        RawField(unknown.number, unknown.value.hex().upper(), unknown.text)
        for unknown in dg13.unknown_fields
    )
