"""Data groups as an issuer writes them: EF.COM, DG1 (TD1 MRZ), DG2, DG13 (docs/domain.md §2).

Encodings follow ICAO 9303-10 §4.6-4.7 and ISO/IEC 19794-5:2005; DG13 follows the
Vietnamese layout of docs/domain.md §2. Written independently of the reader's parsers.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from datetime import date

from cardreader.asn1 import UniversalTag
from cardreader.iso7816.tlv import encode, encode_oid
from cardreader.mrz import check_digit
from simulators.persona import Persona, ascii_name

DG13_OID = "2.16.704.1.0.1"
"""Object identifier written in the simulated DG13 (the real one is not public)."""
NO_EXPIRY_TEXT = "Không thời hạn"
NO_EXPIRY_MRZ = "991231"
"""MRZ expiry written for cards without expiry (the real value is unknown, docs/domain.md §2)."""


class LdsTag(enum.IntEnum):
    """Outer tags of the EFs (ICAO 9303-10 table 33)."""

    COM = 0x60
    DG1 = 0x61
    DG2 = 0x75
    DG13 = 0x6D
    DG14 = 0x6E
    DG15 = 0x6F
    SOD = 0x77


def _utf8(text: str) -> bytes:
    return encode(UniversalTag.UTF8_STRING, text.encode("utf-8"))


def _printable(text: str) -> bytes:
    return encode(UniversalTag.PRINTABLE_STRING, text.encode("ascii"))


def ef_com(tags: Iterable[int]) -> bytes:
    """EF.COM: LDS 1.7, Unicode 4.0.0 and the tag list (ICAO 9303-10 §4.6.1)."""
    body = encode(0x5F01, b"0107") + encode(0x5F36, b"040000") + encode(0x5C, bytes(tags))
    return encode(LdsTag.COM, body)


def td1_mrz(persona: Persona) -> str:
    """The CCCD's TD1 MRZ (docs/domain.md §2): doc = last 9 ID digits, the ID in optional data."""
    doc = persona.id_number[-9:]
    line1 = f"IDVNM{doc}{check_digit(doc)}{persona.id_number}<<{check_digit(persona.id_number)}"
    dob = persona.date_of_birth.strftime("%y%m%d")
    doe = persona.date_of_expiry.strftime("%y%m%d") if persona.date_of_expiry else NO_EXPIRY_MRZ
    line2 = f"{dob}{check_digit(dob)}{persona.sex.mrz}{doe}{check_digit(doe)}VNM".ljust(29, "<")
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    surname, _, given = ascii_name(persona.full_name).partition(" ")
    line3 = f"{surname}<<{given.replace(' ', '<')}"[:30].ljust(30, "<")
    return line1 + line2 + line3


def dg1(persona: Persona) -> bytes:
    return encode(LdsTag.DG1, encode(0x5F1F, td1_mrz(persona).encode("ascii")))


def _date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def dg13(persona: Persona) -> bytes:
    """DG13 ``6D { SEQUENCE { version, OID, SET { SEQUENCE { n, value } ... } } }``."""
    fields: list[tuple[int, bytes]] = [
        (1, _printable(persona.id_number)),
        (2, _utf8(persona.full_name)),
        (3, _printable(_date(persona.date_of_birth))),
        (4, _utf8(persona.sex.value)),
        (5, _utf8(persona.nationality)),
        (6, _utf8(persona.ethnicity)),
        (7, _utf8(persona.religion)),
        (8, _utf8(persona.place_of_origin)),
        (9, _utf8(persona.place_of_residence)),
        (10, _utf8(persona.identifying_marks)),
        (11, _printable(_date(persona.date_of_issue))),
        (12, _utf8(_date(persona.date_of_expiry) if persona.date_of_expiry else NO_EXPIRY_TEXT)),
        (13, encode(UniversalTag.SEQUENCE, _utf8(persona.father) + _utf8(persona.mother))),
    ]
    if persona.spouse:
        fields.append((14, encode(UniversalTag.SEQUENCE, _utf8(persona.spouse))))
    if persona.old_id_number:
        fields.append((15, _printable(persona.old_id_number)))
    fields.append((16, _printable(f"{persona.seed:016d}"[-16:])))
    entries = b"".join(
        encode(UniversalTag.SEQUENCE, encode(UniversalTag.INTEGER, bytes((number,))) + value)
        for number, value in fields
    )
    body = (
        encode(UniversalTag.INTEGER, b"\x01")
        + encode(UniversalTag.OBJECT_IDENTIFIER, encode_oid(DG13_OID))
        + encode(UniversalTag.SET, entries)
    )
    return encode(LdsTag.DG13, encode(UniversalTag.SEQUENCE, body))


class ImageType(enum.IntEnum):
    """ISO/IEC 19794-5 §5.7.2 image data type."""

    JPEG = 0
    JPEG2000 = 1


def facial_record(image: bytes, image_type: ImageType, width: int, height: int) -> bytes:
    """An ISO/IEC 19794-5:2005 facial record with one image, full frontal (§5.4-5.7)."""
    face_info = struct.pack(
        ">IHBBB3sH3s3s",
        20 + 12 + len(image),  # facial record data length: info + image info + image
        0,  # feature points
        0,  # gender unspecified
        0,  # eye colour
        0,  # hair colour
        b"\x00\x00\x00",  # property mask
        0,  # expression
        b"\x00\x00\x00",  # pose angles
        b"\x00\x00\x00",  # pose uncertainty
    )
    image_info = struct.pack(">BBHHBBHH", 1, image_type, width, height, 1, 2, 0, 0)
    body = face_info + image_info + image
    header = b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(body), 1)
    return header + body


def dg2(image: bytes, image_type: ImageType, width: int, height: int) -> bytes:
    """DG2: biometric information group template with one face (ICAO 9303-10 §4.7.2)."""
    header = encode(
        0xA1, encode(0x80, b"\x01\x01") + encode(0x87, b"\x01\x01") + encode(0x88, b"\x00\x08")
    )
    bit = encode(0x7F60, header + encode(0x5F2E, facial_record(image, image_type, width, height)))
    return encode(LdsTag.DG2, encode(0x7F61, encode(UniversalTag.INTEGER, b"\x01") + bit))
